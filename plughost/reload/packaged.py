"""Watch the source of packaged plugins installed in editable mode (``pip install -e``).

An editable install leaves the project's own files in place, so an edit there
is an edit of the plugin: the enabled plugins it provides reload, as one
transaction each, like a plugin in the plugins folder. The files of a regular
install change only when it is reinstalled, so they are not watched; a restart
picks such a change up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from watchfiles import Change, DefaultFilter, awatch

from ..config import Config
from ..discovery import PluginSource
from ..errors import PluginError
from ..sources import Sources, package_root

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["PackageWatch", "editable_roots", "host_roots", "plugins_touched_in"]

logger: Final = logging.getLogger("plughost.reload")
Changes = set[tuple[Change, str]]


def editable_roots(
    config: Config, sources: Sources, live: Mapping[str, PluginSource] | None = None
) -> dict[Path, frozenset[str]]:
    """The files to watch for each enabled packaged plugin installed in editable mode.

    Args:
        config: the plugins enabled.
        sources: where each comes from.
        live: the source of each plugin serving now, which wins over ``sources``.
    """
    roots: dict[Path, set[str]] = {}
    for plugin in config.enabled:
        source = (live or {}).get(plugin.name)
        if source is None:
            try:
                source = sources.resolve(plugin.name, plugin.source)
            except PluginError:
                continue
        if source is None or source.distribution is None or not source.distribution.editable:
            continue
        roots.setdefault(package_root(source).absolute(), set()).add(plugin.name)
    return {root: frozenset(names) for root, names in roots.items()}


def host_roots(host: Host) -> dict[Path, frozenset[str]]:
    """:func:`editable_roots` for a running host."""
    live = {name: version.source for name, version in host.versions.items()}
    return editable_roots(host.config, host.sources, live)


def plugins_touched_in(roots: Mapping[Path, frozenset[str]], paths: Iterable[Path]) -> set[str]:
    """The plugins whose package holds one of ``paths``."""
    touched: set[str] = set()
    for path in paths:
        for root, names in roots.items():
            if path == root or path.is_relative_to(root):
                touched |= names
    return touched


class _SourceFilter(DefaultFilter):
    """Python files of one package (or one module file); not caches, not hidden files."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __call__(self, change: Change, path: str) -> bool:
        candidate = Path(path)
        if not (candidate == self.root or candidate.is_relative_to(self.root)):
            return False
        if not super().__call__(change, path):
            return False
        if any(part.startswith(".") for part in candidate.relative_to(self.root).parts):
            return False
        return candidate.suffix == ".py" or (change is Change.deleted and not candidate.suffix)


class PackageWatch:
    """One watcher per editable package, started and stopped as plugins come and go.

    Args:
        report: called with each batch of changes.
        debounce: as for :func:`watchfiles.awatch`, in ms.
        step: as for :func:`watchfiles.awatch`, in ms.
    """

    def __init__(self, report: Callable[[Changes], object], *, debounce: int, step: int) -> None:
        self.report = report
        self.debounce = debounce
        self.step = step
        self._watchers: dict[Path, tuple[asyncio.Task[None], asyncio.Event]] = {}
        #: the plugins each watched root provides
        self.roots: dict[Path, frozenset[str]] = {}

    async def sync(self, roots: Mapping[Path, frozenset[str]]) -> None:
        """Watch exactly ``roots``; returns once the new watchers are running."""
        self.roots = dict(roots)
        for root in [root for root in self._watchers if root not in roots]:
            task, stop = self._watchers.pop(root)
            stop.set()
            await _finish(task)
        started: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
        for root in roots:
            if root in self._watchers:
                continue
            ready, stop = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(self._watch(root, ready, stop))
            self._watchers[root] = (task, stop)
            started.append((ready, task))
            logger.info("watching %s for edits", root)
        for ready, task in started:
            waiter = asyncio.create_task(ready.wait())
            await asyncio.wait([waiter, task], timeout=10, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()

    async def _watch(self, root: Path, ready: asyncio.Event, stop: asyncio.Event) -> None:
        # A module file is watched through its folder, so that an editor saving
        # by renaming a new file into place is seen.
        folder, recursive = (root, True) if root.is_dir() else (root.parent, False)
        try:
            async for changes in awatch(
                folder,
                watch_filter=_SourceFilter(root),
                debounce=self.debounce,
                step=self.step,
                stop_event=stop,
                recursive=recursive,
                yield_on_timeout=True,
                rust_timeout=200,
            ):
                ready.set()
                if changes:
                    self.report(changes)
        except FileNotFoundError:
            logger.warning("cannot watch %s: it is gone", root)

    async def stop(self) -> None:
        """Stop every watcher."""
        watchers = list(self._watchers.values())
        self._watchers.clear()
        for _, stop in watchers:
            stop.set()
        for task, _ in watchers:
            await _finish(task)


async def _finish(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):
        pass
