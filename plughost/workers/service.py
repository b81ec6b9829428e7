"""The coordinator's process: ``python -m plughost.workers.service SETTINGS``.

Started by ``plughost run --workers N`` beside gunicorn's arbiter. It listens
for the workers, prints the start-up table once every worker joined, runs the
one watcher with ``--reload``, and stops on SIGTERM, or when the arbiter that
started it is gone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, Final

from ..config import Config, load_config
from ..errors import PlughostError
from ..reload.change import ChangeRequest
from ..reload.packaged import editable_roots
from ..reload.packagewatch import PackageWatch, PluginFilter
from ..sources import Sources
from .coordinator import Coordinator

__all__ = ["main"]

logger: Final = logging.getLogger("plughost.workers")
#: the watcher's debounce and step, in ms, as with one process (see ``Reloader``)
DEBOUNCE: Final = 1600
STEP: Final = 2


class Service:
    """The coordinator, its start-up table and its watcher."""

    def __init__(self, config: Config, socket_path: str, *, reload: bool, url: str) -> None:
        self.config: Final = config
        self.socket_path: Final = socket_path
        self.reload: Final = reload
        self.url: Final = url

    async def run(self, stop: asyncio.Event) -> None:
        coordinator = Coordinator(
            self.config, self.socket_path, self.config.server.workers, on_ready=self._announce
        )
        await coordinator.start()
        watcher = asyncio.create_task(self._watch(coordinator, stop)) if self.reload else None
        try:
            await stop.wait()
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            await coordinator.stop()

    def _announce(self, document: dict[str, Any]) -> None:
        from ..cli.console import info, print_table, styled

        rows: list[list[Any]] = []
        for name, entry in document["plugins"].items():
            routes = [f"{r['method']} {r['rule']}" for r in entry.get("routes", [])] or [""]
            state = entry["state"] + (" (mismatch)" if entry.get("mismatch") else "")
            rows.append([name, state, str(entry.get("version", 0)), routes[0]])
            rows.extend(["", "", "", more] for more in routes[1:])
            if entry.get("error"):
                rows.append(["", entry["error"].splitlines()[0], "", ""])
        print_table(("plugin", "status", "version", "routes"), rows)
        pids = ", ".join(str(pid) for pid in document["workers"]["pids"])
        mode = " (reloading on change)" if self.reload else ""
        info(
            f"Serving on {styled(self.url, 'bold')} with {document['workers']['count']} workers "
            f"({pids}){mode}; press Ctrl-C to stop"
        )

    async def _watch(self, coordinator: Coordinator, stop: asyncio.Event) -> None:
        """The one watcher: each batch of changes is one change for every worker."""
        from watchfiles import awatch

        config = self.config
        plugins_dir = config.plugins_dir.absolute()
        plugins_dir.mkdir(parents=True, exist_ok=True)
        watch_filter = PluginFilter(plugins_dir, config.path)
        queue: asyncio.Queue[set[tuple[Any, str]]] = asyncio.Queue()

        async def watch(path: Path, recursive: bool) -> None:
            async for changes in awatch(
                path,
                watch_filter=watch_filter,
                debounce=DEBOUNCE,
                step=STEP,
                stop_event=stop,
                recursive=recursive,
                rust_timeout=200,
                yield_on_timeout=True,
            ):
                if changes:
                    queue.put_nowait(changes)

        watchers = [
            asyncio.create_task(watch(plugins_dir, True)),
            asyncio.create_task(watch(config.path.parent, False)),
        ]
        # The source of editable packaged plugins, as the one-process reloader watches it.
        packages = PackageWatch(queue.put_nowait, debounce=DEBOUNCE, step=STEP)
        try:
            await packages.sync(editable_roots(config, Sources.scan(config.plugins_dir)))
            while True:
                changes = await queue.get()
                while not queue.empty():
                    changes |= queue.get_nowait()
                paths = tuple(sorted({path for _, path in changes}))
                try:
                    await coordinator.apply(ChangeRequest(paths=paths))
                except Exception:
                    logger.exception("reload failed unexpectedly")
                if str(config.path.absolute()) in paths:
                    try:
                        config = load_config(config.path)
                    except PlughostError:
                        pass  # the workers keep the last good config, and say why
                    await packages.sync(editable_roots(config, Sources.scan(config.plugins_dir)))
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            await packages.stop()


async def _serve(settings: dict[str, Any]) -> None:
    config = load_config(settings["config"])
    config = dataclasses.replace(
        config, server=dataclasses.replace(config.server, workers=int(settings["workers"]))
    )
    service = Service(
        config, settings["socket"], reload=bool(settings["reload"]), url=settings["url"]
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()

    async def orphaned() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(1)
        stop.set()

    watching = asyncio.create_task(orphaned())
    try:
        await service.run(stop)
    finally:
        watching.cancel()


def main(argv: list[str] | None = None) -> None:
    """Run the coordinator with the JSON settings the arbiter passes."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    settings = json.loads((argv if argv is not None else sys.argv[1:])[0])
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
