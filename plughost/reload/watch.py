"""Hot reload: watch the project and reload the plugins each change touches.

The project is its plugins folder and config file, and the source of each
enabled packaged plugin installed in editable mode (:mod:`.packaged`).

Each touched plugin is reloaded by :meth:`plughost.host.Host.load`, one
transaction per plugin: a failure leaves the old version serving. A change to
``plughost.toml`` is applied live when it parses and validates, and reported
(with the last good config kept) when it does not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Final

from watchfiles import Change, awatch

from ..config import load_config
from ..discovery import PluginSource
from ..errors import ConfigError, PluginError
from ..host import Host, LoadResult, PluginState
from .packaged import host_roots, plugins_touched_in
from .packagewatch import PackageWatch, PluginFilter
from .placement import ImportPlacement
from .touched import forget_helpers, plugins_touched, watch_roots

__all__ = ["Reloader"]

logger: Final = logging.getLogger("plughost.reload")
#: [server] keys read once, at start-up
_RESTART_KEYS: Final = (
    "host",
    "port",
    "plugins_dir",
    "keepalive_timeout",
    "client_max_size",
    "shutdown_timeout",
)


class Reloader:
    """Watches a host's project and reloads what changes.

    Args:
        host: the running host.
        debounce: longest time, in ms, to group changes into one batch.
        step: how long, in ms, the folder must stay quiet before a batch is handled, and
            how often watchfiles looks: a write is noticed within about 1.5 steps. A
            short step is safe because the importer runs the bytes it read once and
            fails a load whose file changed meanwhile; the change's own event retries.
        grace: how long, in s, a served plugin's file may stay missing or empty before
            that is acted on. Editors that save by renaming the old file away, or by
            truncating it and then writing, pass through those states; acting on them
            at once unloads the plugin, or serves an empty one, until the next batch.
    """

    def __init__(
        self, host: Host, *, debounce: int = 1600, step: int = 1, grace: float = 0.5
    ) -> None:
        self.host = host
        self.debounce = debounce
        self.step = step
        self.grace = grace
        #: plugins whose file was first seen missing or empty at this time.monotonic()
        self._unsettled: dict[str, float] = {}
        self._rechecks: dict[str, asyncio.TimerHandle] = {}
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[set[tuple[Change, str]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        #: the watchers of editable packaged plugins' source
        self.packages = PackageWatch(self._queue.put_nowait, debounce=debounce, step=step)
        #: which plugins import on the event loop
        self.imports = ImportPlacement()
        #: how many batches of changes have been handled
        self.batches = 0
        self.batch_done = asyncio.Event()

    async def start(self) -> None:
        """Start watching; returns once the watchers are running."""
        config = self.host.config
        plugins_dir = config.plugins_dir.absolute()
        plugins_dir.mkdir(parents=True, exist_ok=True)
        watch_filter = PluginFilter(plugins_dir, config.path)
        recursive, alone = watch_roots(plugins_dir)
        plans = [(recursive, True), ([*alone, config.path.parent], False)]
        plans = [(paths, deep) for paths, deep in plans if paths]
        ready = [asyncio.Event() for _ in plans]
        self._tasks = [
            asyncio.create_task(self._watch(paths, deep, watch_filter, event))
            for (paths, deep), event in zip(plans, ready, strict=True)
        ]
        self._worker = asyncio.create_task(self._work())
        try:
            async with asyncio.timeout(10):
                for event, task in zip(ready, self._tasks, strict=True):
                    waiter = asyncio.create_task(event.wait())
                    await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
                    if not event.is_set():
                        waiter.cancel()
                        await task  # raises what stopped the watcher
                        raise RuntimeError(f"the watcher stopped before it was ready: {task!r}")
            await self.packages.sync(host_roots(self.host))
        except BaseException:
            await self.stop()
            raise

    async def _watch(
        self, paths: list[Path], recursive: bool, watch_filter: PluginFilter, ready: asyncio.Event
    ) -> None:
        async for changes in awatch(
            *paths,
            watch_filter=watch_filter,
            debounce=self.debounce,
            step=self.step,
            stop_event=self._stop,
            recursive=recursive,
            yield_on_timeout=True,
            rust_timeout=200,
        ):
            ready.set()
            if changes:
                self._queue.put_nowait(changes)

    async def stop(self) -> None:
        self._stop.set()
        for timer in self._rechecks.values():
            timer.cancel()
        self._rechecks.clear()
        for task in self._tasks:
            task.cancel()
        if self._worker is not None:
            self._worker.cancel()
        for task in [*self._tasks, *([self._worker] if self._worker else [])]:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self.packages.stop()

    async def _work(self) -> None:
        while True:
            changes = await self._queue.get()
            while not self._queue.empty():
                changes |= self._queue.get_nowait()
            try:
                await self.apply(changes)
            except Exception:
                logger.exception("reload failed unexpectedly")
            self.batches += 1
            self.batch_done.set()
            self.batch_done = asyncio.Event()

    async def apply(self, changes: set[tuple[Change, str]]) -> list[LoadResult]:
        """Handle one batch of changes: config first, then the plugins touched."""
        host = self.host
        paths = {Path(path) for _, path in changes}
        results: list[LoadResult] = []
        touched: set[str] = set()
        if host.config.path.absolute() in paths:
            touched |= await self._apply_config()
        plugin_paths = [p for p in paths if p != host.config.path.absolute()]
        changed, helpers = plugins_touched(host, plugin_paths)
        if helpers:
            forget_helpers(host.config, helpers)
        touched |= changed
        touched |= plugins_touched_in(self.packages.roots, plugin_paths)
        for plugin in host.config.plugins:
            if plugin.name in touched and plugin.enabled:
                wait = self._unsettled_for(plugin.name)
                if wait > 0:
                    self._recheck(plugin.name, wait)
                    continue
                results.append(await self._reload(plugin.name))
        await self.packages.sync(host_roots(host))
        return results

    def _source(self, name: str) -> PluginSource | None:
        plugin = self.host.config.plugin(name)
        return self.host.sources.resolve(name, plugin.source if plugin is not None else None)

    def _unsettled_for(self, name: str) -> float:
        """Seconds to wait before acting on ``name``: > 0 while its file, missing or
        empty, may be mid-save, and a version of it is serving."""
        try:
            source = self._source(name)
            unsettled = source is None or source.path.stat().st_size == 0
        except PluginError:
            # Two places provide it, or its package lost the module: the load says so.
            unsettled = False
        except OSError:
            unsettled = True
        if not unsettled or name not in self.host.versions or self.grace <= 0:
            self._unsettled.pop(name, None)
            timer = self._rechecks.pop(name, None)
            if timer is not None:
                timer.cancel()
            return 0.0
        now = time.monotonic()
        since = self._unsettled.setdefault(name, now)
        if now - since >= self.grace:
            del self._unsettled[name]
            return 0.0
        return since + self.grace - now

    def _recheck(self, name: str, delay: float) -> None:
        """Look at ``name`` again in ``delay`` s, as if its file had changed."""
        if name in self._rechecks:
            return
        path = str(self.host.config.plugins_dir.absolute() / name)

        def fire() -> None:
            del self._rechecks[name]
            self._queue.put_nowait({(Change.modified, path)})

        self._rechecks[name] = asyncio.get_running_loop().call_later(delay, fire)

    async def _reload(self, name: str) -> LoadResult:
        started = time.perf_counter()
        verb = "reloaded" if name in self.host.versions else "loaded"
        result = await self.host.load(name, imports=self.imports)
        took = (time.perf_counter() - started) * 1000
        if result.ok:
            logger.info("%s %s in %.1f ms", verb, name, took)
        elif self.host.status()[name].state is PluginState.MISSING:
            logger.info("unloaded %s: its file is gone", name)
        return result

    async def _apply_config(self) -> set[str]:
        """Apply an edited config; returns the enabled plugins that must (re)load."""
        host = self.host
        old = host.config
        try:
            new = load_config(old.path)
        except ConfigError as error:
            logger.error("config not applied, the last good one stays in force: %s", error)
            return set()
        restart = [
            key for key in _RESTART_KEYS if getattr(new.server, key) != getattr(old.server, key)
        ]
        if restart:
            logger.warning("[server] %s changed: restart plughost to apply it", ", ".join(restart))
        host.config = new
        # A package may have been installed to provide a plugin enabled just now.
        host.rescan()
        # API keys and the debug flag are read when handlers are compiled or on
        # each request, so no plugin needs reloading for them; CORS is the host's.
        if new.cors != old.cors:
            host.set_cors(new.cors)
        elif (
            new.auth != old.auth
            or new.server.debug != old.server.debug
            or new.server.sync_to_thread != old.server.sync_to_thread
        ):
            host.reset()
        touched: set[str] = set()
        for plugin in new.plugins:
            before = old.plugin(plugin.name)
            if plugin.enabled and before != plugin:
                touched.add(plugin.name)
        for plugin in old.plugins:
            after = new.plugin(plugin.name)
            if plugin.enabled and (after is None or not after.enabled):
                await host.unload(plugin.name)
                logger.info("unloaded %s: disabled in %s", plugin.name, new.path.name)
        if [p.name for p in new.plugins] != [p.name for p in old.plugins]:
            host.republish()
        return touched
