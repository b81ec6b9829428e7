"""The watchfiles side of reload: what the plugins folder's watcher passes, and the
watchers of packaged plugins installed in editable mode.

Imported only when something watches (``--reload``), so that serving without it never
imports watchfiles. Which plugins a change touches is :mod:`plughost.reload.packaged`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from watchfiles import Change, DefaultFilter, awatch

__all__ = ["Changes", "PackageWatch", "PluginFilter"]

logger: Final = logging.getLogger("plughost.reload")
Changes = set[tuple[Change, str]]


class PluginFilter(DefaultFilter):
    """Passes Python files in the plugins folder and the config file; nothing hidden."""

    def __init__(self, plugins_dir: Path, config_path: Path) -> None:
        super().__init__()
        self.plugins_dir = plugins_dir.absolute()
        self.real_plugins_dir = plugins_dir.resolve()
        self.config_path = config_path.absolute()

    def __call__(self, change: Change, path: str) -> bool:
        candidate = Path(path)
        if candidate == self.config_path:
            return True
        if not super().__call__(change, path):
            return False
        try:
            relative = candidate.relative_to(self.plugins_dir)
        except ValueError:
            return False
        if any(part.startswith(".") for part in relative.parts):
            return False
        if change is not Change.deleted and not candidate.resolve().is_relative_to(
            self.real_plugins_dir
        ):
            logger.warning("ignoring %s: it is a symlink out of the plugins folder", path)
            return False
        return candidate.suffix == ".py" or (change is Change.deleted and not candidate.suffix)


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
