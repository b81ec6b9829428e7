"""``plughost run --workers N``: gunicorn's arbiter, aiohttp's worker class, one coordinator.

gunicorn forks the workers, restarts one that crashes, and stops them
gracefully. The coordinator runs in a thread of the arbiter process, on a
Unix socket in a private temporary folder that the workers inherit the path
of; with ``--reload`` it also runs the one watcher, so an edit is seen once
and applied to every worker as one change.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Final

from ..config import Config, load_config
from ..errors import PlughostError
from ..reload.change import ChangeRequest
from ..reload.packaged import PackageWatch, editable_roots
from ..reload.touched import PluginFilter
from ..sources import Sources
from ..urls import server_url
from .coordinator import Coordinator
from .worker import runner_factory

__all__ = ["serve_workers"]

logger: Final = logging.getLogger("plughost.workers")
#: the watcher's debounce, in ms, as with one process
DEBOUNCE: Final = 1600


def serve_workers(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    reload: bool = False,
    access_log: bool | None = None,
) -> None:
    """Serve ``config`` with ``config.server.workers`` processes until SIGINT or SIGTERM.

    Raises:
        PlughostError: gunicorn is not installed.
    """
    try:
        from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
    except ImportError:
        raise PlughostError(
            "--workers needs gunicorn, which is not installed",
            hint="pip install 'plughost[workers]'",
        ) from None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    bind = host or config.server.host
    port = port or config.server.port
    folder = tempfile.mkdtemp(prefix="plughost-")
    socket_path = os.path.join(folder, "coordinator.sock")
    log_access = config.server.access_log if access_log is None else access_log
    url = server_url(bind, port)
    thread = CoordinatorThread(config, socket_path, reload=reload, url=url)
    options: dict[str, Any] = {
        "bind": f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}",
        "workers": config.server.workers,
        "worker_class": "aiohttp.GunicornWebWorker",
        "proc_name": "plughost",
        "keepalive": max(1, int(config.server.keepalive_timeout)),
        "graceful_timeout": int(config.server.drain_timeout + config.server.task_grace) + 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "when_ready": lambda arbiter: thread.start(),
        "post_fork": _post_fork,
        "on_exit": lambda arbiter: thread.stop(),
        # gunicorn 24+ opens a control socket in the home folder; plughost has its own.
        "control_socket_disable": True,
    }
    factory = runner_factory(config, socket_path, log_access)

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return factory

    try:
        Application().run()
    finally:
        thread.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _post_fork(arbiter: object, worker: object) -> None:
    """In a worker: say which worker speaks on every line it logs."""
    formatter = logging.Formatter(f"[{os.getpid()}] %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


class CoordinatorThread:
    """The coordinator's event loop, in a thread of the arbiter."""

    def __init__(self, config: Config, socket_path: str, *, reload: bool, url: str) -> None:
        self.config: Final = config
        self.socket_path: Final = socket_path
        self.reload: Final = reload
        self.url: Final = url
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None

    def start(self) -> None:
        """Start the coordinator; returns once it listens (before any worker is forked)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="plughost coordinator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main())
        except BaseException as error:
            self._failure = error
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stop = stop = asyncio.Event()
        coordinator = Coordinator(
            self.config, self.socket_path, self.config.server.workers, on_ready=self._announce
        )
        await coordinator.start()
        watcher = asyncio.create_task(self._watch(coordinator, stop)) if self.reload else None
        self._ready.set()
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
                step=10,
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
        packages = PackageWatch(queue.put_nowait, debounce=DEBOUNCE, step=10)
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
