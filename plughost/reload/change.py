"""Apply a change to a host as one transaction: the watcher's changed files, or a deploy.

A :class:`ChangeRequest` names what changed: the files a watcher saw, or
``everything`` (``plughost reload``: whatever differs from disk, found by each
plugin's digest). :func:`stage_change` stages it in a transaction; with one
process :func:`apply_change` then commits it when every plugin prepared, and
with workers the coordinator decides (:mod:`plughost.workers`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..config import Config, load_config
from ..errors import PluginError
from .digest import source_digest
from .importer import helper_imports, namespace_for
from .outcome import LoadResult, PluginState
from .packaged import editable_roots, plugins_touched_in
from .touched import forget_helpers, plugins_touched

if TYPE_CHECKING:
    from ..host import Host
    from .transaction import LoadTransaction

__all__ = [
    "ChangeRequest",
    "PluginOutcome",
    "apply_change",
    "failed_reason",
    "outcomes",
    "read_config",
    "stage_change",
]

logger: Final = logging.getLogger("plughost.reload")


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """What to apply: changed paths, or everything that differs from disk."""

    paths: tuple[str, ...] = ()
    everything: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"paths": list(self.paths), "everything": self.everything}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChangeRequest:
        return cls(tuple(str(p) for p in data.get("paths", ())), bool(data.get("everything")))


@dataclass(slots=True)
class PluginOutcome:
    """One plugin's part of an applied change, as ``plughost reload`` prints it."""

    name: str
    #: reloaded, loaded, unloaded, missing, failed or not applied
    outcome: str
    error: str | None = None
    #: the worker (pid) whose error this is
    worker: int | None = None
    version: int | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "error": self.error,
            "worker": self.worker,
            "version": self.version,
            "ms": round(self.seconds * 1000, 2),
        }


def read_config(host: Host, request: ChangeRequest) -> Config:
    """The config the change applies: read again when the request may have touched it.

    Raises:
        ConfigError: plughost.toml does not parse or validate.
    """
    path = host.config.path.absolute()
    if request.everything or str(path) in request.paths:
        return load_config(path)
    return host.config


async def stage_change(host: Host, transaction: LoadTransaction, request: ChangeRequest) -> None:
    """Stage in ``transaction`` every plugin the change loads, reloads or takes out."""
    new, old = transaction.config, host.config
    touched: set[str] = set()
    if new is not old or request.everything:
        # A package may have been installed, upgraded or removed since.
        host.rescan()
    if new is not old:
        for plugin in new.plugins:
            if plugin.enabled and old.plugin(plugin.name) != plugin:
                touched.add(plugin.name)
        for plugin in old.plugins:
            after = new.plugin(plugin.name)
            if plugin.enabled and (after is None or not after.enabled):
                transaction.stage_unload(plugin.name)
    paths = [Path(p) for p in request.paths if Path(p) != new.path.absolute()]
    if paths:
        changed, helpers = plugins_touched(host, paths)
        if helpers:
            forget_helpers(new, helpers)
        touched |= changed
        plugins_dir = new.plugins_dir.absolute()
        outside = [path for path in paths if not path.is_relative_to(plugins_dir)]
        if outside:  # an edit to an editable package's source
            live = {name: version.source for name, version in host.versions.items()}
            touched |= plugins_touched_in(editable_roots(new, host.sources, live), outside)
    if request.everything:
        touched |= _differing(host, new)
    for plugin in new.plugins:
        if plugin.name in touched and plugin.enabled:
            await transaction.stage(plugin.name)


def _differing(host: Host, config: Config) -> set[str]:
    """Enabled plugins whose files or section differ from what is serving, or that failed."""
    names: set[str] = set()
    helpers: set[str] = set()
    for plugin in config.enabled:
        status = host.status_of(plugin.name)
        try:
            source = host.sources.resolve(plugin.name, plugin.source)
        except PluginError:
            names.add(plugin.name)  # its load says why it cannot
            continue
        if source is None:
            if status is None or status.state is not PluginState.MISSING:
                names.add(plugin.name)
            continue
        digest = source_digest(config.plugins_dir, source, plugin)
        if status is None or status.error or status.digest != digest:
            names.add(plugin.name)
            helpers |= helper_imports(source)
    if helpers and namespace_for(config.plugins_dir):
        forget_helpers(config, helpers)
    return names


def outcomes(results: list[LoadResult], before: dict[str, int], host: Host) -> list[PluginOutcome]:
    """What each result means for a person: reloaded, loaded, missing, failed."""
    found = []
    for result in results:
        status = host.status_of(result.name)
        version = status.version if status is not None else None
        if result.ok:
            outcome = "reloaded" if result.name in before else "loaded"
        elif status is not None and status.state is PluginState.MISSING:
            outcome = "missing"
        elif result.error is not None and str(result.error).startswith("not applied"):
            outcome = "not applied"
        else:
            outcome = "failed"
        error = str(result.error) if result.error is not None else None
        found.append(PluginOutcome(result.name, outcome, error, None, version, result.seconds))
    return found


async def apply_change(host: Host, request: ChangeRequest) -> list[PluginOutcome]:
    """Apply ``request`` in one process: committed when every plugin prepared, else aborted.

    Raises:
        ConfigError: plughost.toml does not parse or validate; nothing changed.
    """
    config = read_config(host, request)
    before = {name: v.number for name, v in host.versions.items()}
    async with host.transaction(config) as transaction:
        unloading = _unloading(host, config)
        await stage_change(host, transaction, request)
        committed = await transaction.prepare()
        if committed:
            results = transaction.commit()
        else:
            results = await transaction.abort(failed_reason(transaction.failures))
    if not committed:
        return outcomes(results, before, host)
    found = outcomes([r for r in results if r.name not in unloading], before, host)
    found.extend(PluginOutcome(name, "unloaded") for name in unloading if name in before)
    return found


def failed_reason(failures: Mapping[str, object], worker: int | None = None) -> str:
    """Why a change was not applied, for the plugins that did prepare."""
    where = f" in worker {worker}" if worker is not None else ""
    names = ", ".join(repr(name) for name in sorted(failures))
    return f"{names} failed{where}"


def _unloading(host: Host, config: Config) -> list[str]:
    return [
        plugin.name
        for plugin in host.config.enabled
        if (after := config.plugin(plugin.name)) is None or not after.enabled
    ]
