"""``plughost run --workers N``: gunicorn's arbiter, aiohttp's worker class, one coordinator.

gunicorn forks the workers, restarts one that crashes, and stops them
gracefully. The coordinator (:mod:`plughost.workers.service`) runs in a
process beside the arbiter, on a Unix socket in a private temporary folder
whose path the workers inherit; with ``--reload`` it also runs the one
watcher, so an edit is seen once and applied to every worker as one change.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Final

from ..config import Config
from ..errors import PlughostError
from ..urls import server_url
from .worker import runner_factory

__all__ = ["serve_workers"]

logger: Final = logging.getLogger("plughost.workers")


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
    coordinator = CoordinatorProcess(config, socket_path, reload=reload, url=url)
    options: dict[str, Any] = {
        "bind": f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}",
        "workers": config.server.workers,
        "worker_class": "aiohttp.GunicornWebWorker",
        "proc_name": "plughost",
        "keepalive": max(1, int(config.server.keepalive_timeout)),
        "graceful_timeout": max(1, round(config.server.shutdown_timeout)),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "when_ready": lambda arbiter: coordinator.start(),
        "post_fork": _post_fork,
        "on_exit": lambda arbiter: coordinator.stop(),
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
        coordinator.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _post_fork(arbiter: object, worker: object) -> None:
    """In a worker: say which worker speaks on every line it logs."""
    formatter = logging.Formatter(f"[{os.getpid()}] %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


class CoordinatorProcess:
    """The coordinator, in a process of its own beside the arbiter.

    A process rather than a thread of the arbiter: gunicorn forks workers from
    the arbiter, and a fork copies no other thread, only the locks it held.
    """

    def __init__(self, config: Config, socket_path: str, *, reload: bool, url: str) -> None:
        self.config: Final = config
        self.socket_path: Final = socket_path
        self.reload: Final = reload
        self.url: Final = url
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the coordinator; returns once it listens (before any worker is forked)."""
        if self._process is not None:
            return
        settings = {
            "config": str(self.config.path),
            "workers": self.config.server.workers,
            "socket": self.socket_path,
            "reload": self.reload,
            "url": self.url,
        }
        command = [sys.executable, "-m", "plughost.workers.service", json.dumps(settings)]
        self._process = process = subprocess.Popen(command)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.socket_path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise PlughostError("the workers' coordinator did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
