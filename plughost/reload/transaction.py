"""One change to a host's plugins: staged aside, then committed in one publish, or aborted.

``Host.load``, ``Host.unload`` and a reload coordinated across workers all go
through a :class:`LoadTransaction`::

    async with host.transaction() as transaction:   # holds the host's lock
        await transaction.stage("blog")              # import, params, setup, routes
        transaction.stage_unload("old")
        if await transaction.prepare():              # route conflicts checked too
            transaction.commit()                     # one publish; old versions retire
        else:
            await transaction.abort("blog failed")   # nothing live changed

Nothing live changes before :meth:`LoadTransaction.commit`, which cannot fail:
everything that can fail happened in :meth:`stage` and :meth:`prepare`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from ..discovery import PluginSource
from ..errors import PlughostError, PluginError, PluginImportError
from ..handle import HostServices
from ..sources import package_root
from .digest import source_digest
from .failure import describe_failure
from .importer import Stopwatch, describe, short_traceback
from .outcome import LoadResult, PluginState, PluginStatus
from .stage import PluginVersion, build_version

if TYPE_CHECKING:
    from ..config import Config, PluginConfig
    from ..sources import Sources
    from .placement import ImportPlacement

__all__ = ["LoadTransaction", "TransactionHost"]

logger: Final = logging.getLogger("plughost.host")
#: seconds to wait before looking again at a file that may be mid-save
_SETTLE: Final = 0.25


class TransactionHost(HostServices, Protocol):
    """What a transaction needs from its host (:class:`plughost.Host` provides it)."""

    @property
    def versions(self) -> dict[str, PluginVersion]: ...

    @property
    def sources(self) -> Sources: ...

    def status_of(self, name: str) -> PluginStatus | None: ...

    def set_status(self, status: PluginStatus) -> None: ...

    def check_publish(self, versions: dict[str, PluginVersion]) -> None: ...

    def publish(
        self, versions: dict[str, PluginVersion] | None = None, *, reset_all: bool = False
    ) -> None: ...

    def apply_config(self, config: Config) -> None: ...

    def retire_later(self, version: PluginVersion) -> None: ...

    def report(self, result: LoadResult) -> LoadResult: ...


@dataclass(slots=True)
class _Staged:
    """One plugin's part of a transaction."""

    name: str
    started: float
    previous: PluginVersion | None
    before: PluginStatus
    version: PluginVersion | None = None
    source: PluginSource | None = None
    digest: str | None = None
    error: PlughostError | None = None
    #: the state the plugin leaves service in (disabled, missing), when it leaves
    leaves: PluginState | None = None
    #: reported to the host's listeners (a load is; an unload is not)
    reported: bool = True

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def roots(self) -> tuple[Path, ...]:
        """A packaged plugin's files, where its tracebacks are shown from."""
        source = self.source
        return (package_root(source),) if source is not None and source.distribution else ()


class LoadTransaction:
    """Plugins staged to load, reload or leave, committed together or not at all.

    Args:
        host: the host; the caller holds its lock (``host.transaction()`` does).
        config: the configuration to commit with the plugins (an edited
            plughost.toml); None keeps the host's.
        quiet: log no failures (a coordinator reports for every worker at once).
    """

    def __init__(
        self, host: TransactionHost, config: Config | None = None, *, quiet: bool = False
    ) -> None:
        self.host: Final = host
        self.config: Final = config if config is not None else host.config
        self.quiet: Final = quiet
        self._staged: dict[str, _Staged] = {}
        #: True once committed or aborted
        self.finished = False

    @property
    def names(self) -> list[str]:
        return list(self._staged)

    @property
    def failures(self) -> dict[str, PlughostError]:
        """The staged plugins that failed, and why."""
        return {s.name: s.error for s in self._staged.values() if s.error is not None}

    def _begin(self, name: str) -> _Staged:
        if name in self._staged:
            raise ValueError(f"plugin {name!r} is staged twice")
        staged = _Staged(
            name,
            time.perf_counter(),
            self.host.versions.get(name),
            self.host.status_of(name) or PluginStatus(name, PluginState.LOADED),
        )
        self._staged[name] = staged
        return staged

    async def stage(
        self, name: str, *, in_thread: bool = True, imports: ImportPlacement | None = None
    ) -> LoadResult:
        """Import and set up plugin ``name`` aside; the result says whether it worked.

        A plugin whose files are gone is staged to leave service as missing.
        ``in_thread=False`` imports on the event loop (see :func:`build_version`);
        ``imports`` decides instead, from how the plugin's imports went before.

        Raises:
            PluginError: the plugin is not enabled in the transaction's config.
        """
        plugin_config = self.config.plugin(name)
        if plugin_config is None or not plugin_config.enabled:
            raise PluginError(f"plugin {name!r} is not enabled in {self.config.path}")
        staged = self._begin(name)
        try:
            source = self.host.sources.resolve(name, plugin_config.source)
        except PluginError as error:
            staged.error = error
            return LoadResult(name, False, error, staged.seconds)
        if source is None:
            staged.leaves = PluginState.MISSING
            staged.error = PluginError(
                f"plugin {name!r} not found in {self.config.plugins_dir}"
                + (" or in an installed package" if plugin_config.source != "folder" else ""),
                plugin=name,
                hint=f"create plugins/{name}.py or plugins/{name}/__init__.py, "
                "or install a package that provides it",
            )
            return LoadResult(name, False, staged.error, staged.seconds)
        staged.source = source
        try:
            if imports is not None:
                staged.version = await self._build_placed(staged, plugin_config, source, imports)
            else:
                staged.version = await build_version(
                    self.host, plugin_config, source, staged.before.version + 1, in_thread=in_thread
                )
        except PlughostError as error:
            staged.error = error
        except Exception as error:  # pragma: no cover - build_version wraps what it can
            staged.error = PluginError(describe(error), plugin=name)
        else:
            if await _emptied_mid_save(staged):
                await _discard(staged)
                staged.error = PluginImportError(
                    "the file was being written while it loaded (it had routes, and this "
                    "load has none); the rest of the save loads on its own",
                    plugin=name,
                    path=source.path,
                )
                return LoadResult(name, False, staged.error, staged.seconds)
            imported = staged.version.imported
            staged.digest = source_digest(
                self.config.plugins_dir, source, plugin_config, imported.helpers, imported.read
            )
        return LoadResult(name, staged.error is None, staged.error, staged.seconds)

    async def _build_placed(
        self,
        staged: _Staged,
        plugin_config: PluginConfig,
        source: PluginSource,
        imports: ImportPlacement,
    ) -> PluginVersion:
        """Build on the event loop when ``imports`` says so, else (or if that fails) in a thread."""
        number = staged.before.version + 1
        if imports.on_loop(staged.previous, source):
            stopwatch = Stopwatch()
            try:
                version = await build_version(
                    self.host, plugin_config, source, number, in_thread=False
                )
            except PlughostError as error:
                if not imports.retry_in_thread(source.name, error, stopwatch.held()):
                    raise
            else:
                imports.loaded(version)
                return version
            version = await build_version(self.host, plugin_config, source, number)
            imports.retried(source.name)
            return version
        return await build_version(self.host, plugin_config, source, number)

    def version(self, name: str) -> PluginVersion | None:
        """The version staged for plugin ``name``; None if it failed or leaves."""
        staged = self._staged.get(name)
        return staged.version if staged is not None else None

    def stage_unload(self, name: str, state: PluginState = PluginState.DISABLED) -> None:
        """Take plugin ``name`` out of service on commit, leaving it in ``state``."""
        staged = self._begin(name)
        staged.leaves = state
        staged.reported = False

    def _candidate(self) -> dict[str, PluginVersion]:
        candidate = self.host.versions
        for staged in self._staged.values():
            if staged.version is not None:
                candidate[staged.name] = staged.version
            elif staged.leaves is not None:
                candidate.pop(staged.name, None)
        return candidate

    async def prepare(self) -> bool:
        """Check that the staged versions publish together; True when nothing failed.

        A route conflict fails the plugin whose new version brings it.
        """
        while True:
            try:
                self.host.check_publish(self._candidate())
                break
            except PluginError as error:
                culprit = self._blame(error)
                if culprit is None:
                    raise
                await _discard(culprit)
                culprit.error = error
        return not self.failures

    def _blame(self, error: PluginError) -> _Staged | None:
        """The staged version that brings a publishing error."""
        versions = self.host.versions
        for staged in self._staged.values():
            if staged.version is None:
                continue
            versions[staged.name] = staged.version
            try:
                self.host.check_publish(versions)
            except PluginError:
                return staged
        return None

    def commit(self) -> list[LoadResult]:
        """Publish every staged change in one step; failed plugins keep their old version."""
        self._finish()
        host = self.host
        if self.config is not host.config:
            host.apply_config(self.config)
        reset_all = False
        for staged in self._staged.values():
            host.set_status(self._status_after(staged))
            changed = staged.version is not None or staged.leaves is not None
            for version in (staged.version, staged.previous if changed else None):
                reset_all = reset_all or bool(version is not None and version.shapes_every_route)
        host.publish(self._candidate(), reset_all=reset_all)
        results = []
        for staged in self._staged.values():
            if staged.previous is not None and (staged.version or staged.leaves):
                host.retire_later(staged.previous)
            if staged.error is not None and staged.leaves is None:
                self._log_failure(staged, staged.error)
            result = LoadResult(staged.name, staged.error is None, staged.error, staged.seconds)
            if staged.reported:
                host.report(result)
            results.append(result)
        return results

    def _status_after(self, staged: _Staged) -> PluginStatus:
        before = staged.before
        if staged.leaves is not None:
            if staged.error is None:
                return PluginStatus(staged.name, staged.leaves, before.version)
            return PluginStatus(
                staged.name,
                staged.leaves,
                before.version,
                None,
                str(staged.error),
                staged.seconds,
                describe_failure(staged.error, self.config.plugins_dir, *staged.roots),
            )
        if staged.version is not None:
            version = staged.version
            return PluginStatus(
                staged.name,
                PluginState.LOADED,
                version.number,
                version.loaded_at,
                seconds=staged.seconds,
                digest=staged.digest,
            )
        assert staged.error is not None
        return self._status_kept(staged, staged.error)

    def _status_kept(self, staged: _Staged, error: PlughostError) -> PluginStatus:
        before = staged.before
        state = PluginState.LOADED if staged.previous is not None else PluginState.ERROR
        return PluginStatus(
            staged.name,
            state,
            before.version,
            before.loaded_at,
            str(error),
            staged.seconds,
            describe_failure(error, self.config.plugins_dir, *staged.roots),
            before.digest,
        )

    async def abort(self, reason: str) -> list[LoadResult]:
        """Discard every staged version: the live plugins stay as they were.

        Each staged plugin's status records its own error, or ``reason``.
        """
        self._finish()
        results = []
        placeholders = False
        for staged in self._staged.values():
            await _discard(staged)
            error = staged.error or PluginError(f"not applied: {reason}", plugin=staged.name)
            if staged.error is not None:
                self._log_failure(staged, staged.error)
            if staged.leaves is None or staged.error is not None:
                status = self._status_kept(staged, error)
                placeholders = placeholders or status.state is PluginState.ERROR
                self.host.set_status(status)
            result = LoadResult(staged.name, False, error, staged.seconds)
            if staged.reported:
                self.host.report(result)
            results.append(result)
        if placeholders:
            self.host.publish()
        return results

    def _finish(self) -> None:
        if self.finished:
            raise RuntimeError("this transaction was already committed or aborted")
        self.finished = True

    def _log_failure(self, staged: _Staged, error: PlughostError) -> None:
        if self.quiet:
            return
        logger.error(
            "plugin %r failed to load in %.1f ms; %s: %s%s",
            staged.name,
            staged.seconds * 1000,
            "the previous version keeps serving" if staged.previous is not None else "not serving",
            error,
            short_traceback(error, self.config.plugins_dir, *staged.roots),
        )


async def _emptied_mid_save(staged: _Staged) -> bool:
    """True when a plugin that had routes loaded with none from a file still being written.

    An editor saving in place truncates the file and writes it, perhaps in several
    writes; a load that read part of it can run without error and declare nothing.
    Only then, the file is looked at again a moment later.
    """
    version, previous = staged.version, staged.previous
    if version is None or previous is None or not previous.handle.routes:
        return False
    if version.kind != "empty":
        return False
    await asyncio.sleep(_SETTLE)
    return version.imported.changed_on_disk()


async def _discard(staged: _Staged) -> None:
    """Undo a staged version's import and close what its setup opened."""
    version = staged.version
    if version is None:
        return
    staged.version = None
    version.imported.rollback()
    try:
        await version.handle.aclose()
    except Exception as error:
        logger.error("plugin %r: close failed: %s", version.name, error, exc_info=error)
