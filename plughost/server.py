"""``plughost run``: open a host for a project, serve it, and shut down gracefully."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from aiohttp import web

from .config import Config
from .devpage.routes import add_devpage
from .errors import PlughostError
from .host import Host
from .reload.bytecode import wait_for_writes
from .reload.deploy import Deploy, add_reload_route
from .request.entry import build_server
from .request.status import Document, add_status_route
from .urls import server_url

__all__ = ["build_server", "open_host", "serve"]

logger: Final = logging.getLogger("plughost.server")
#: the name prefix of the threads sync handlers run in
_SYNC_THREADS: Final = "plughost-sync"
#: seconds the idle threads of sync handlers get to end once the server stopped
_IDLE_THREADS_EXIT: Final = 0.5


async def open_host(
    config: Config, *, status: Document | None = None, deploy: Deploy | None = None
) -> Host:
    """A Host for ``config`` with every enabled plugin loaded, the status route and the page.

    ``status`` and ``deploy`` answer the status and reload endpoints when the
    host is one of several workers; by default they are this host's alone.
    """
    host = Host(config)
    if config.cors.enabled:
        host.set_cors(config.cors)
    add_status_route(host, status)
    add_reload_route(host, deploy)
    add_devpage(host, status)
    await host.start()
    return host


def serve(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    reload: bool = False,
    access_log: bool | None = None,
) -> None:
    """Run the server for ``config`` until Ctrl-C or SIGTERM, then shut down gracefully.

    The stop takes at most ``[server] shutdown_timeout`` seconds: a sync handler
    still running in its thread then does not hold the process.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # plughost prints one line per reload; watchfiles' own "N changes detected" is noise.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    # asyncio.run() would wait, without limit, for the threads of sync handlers.
    executor = ThreadPoolExecutor(thread_name_prefix=_SYNC_THREADS)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(executor)
    try:
        loop.run_until_complete(
            _serve(
                config, host or config.server.host, port or config.server.port, reload, access_log
            )
        )
    finally:
        _cancel_leftovers(loop)
        executor.shutdown(wait=False, cancel_futures=True)
        loop.close()
    threads = [t for t in threading.enumerate() if t.name.startswith(_SYNC_THREADS)]
    # An idle thread ends as soon as it sees the shutdown; only a handler still running
    # holds its thread past that.
    deadline = time.monotonic() + _IDLE_THREADS_EXIT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t for t in threads if t.is_alive()]
    if stuck:
        logger.warning(
            "%d sync handler(s) still running after shutdown_timeout; exiting without them",
            len(stuck),
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        # Python joins executor threads at exit, however long they run.
        wait_for_writes()  # os._exit runs no atexit handler
        os._exit(0)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())


async def _serve(
    config: Config, bind: str, port: int, reload: bool, access_log: bool | None
) -> None:
    from .cli.summary import print_summary

    plughost = await open_host(config)
    log_access = config.server.access_log if access_log is None else access_log
    server = build_server(
        plughost,
        access_log=logging.getLogger("aiohttp.access") if log_access else None,
    )
    budget = _StopBudget(config.server.shutdown_timeout, config.server.task_grace)
    # aiohttp waits this long for handlers still running, cancels them, and waits as long again.
    runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=budget.cancel)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watcher = None
    try:
        if reload:
            from .reload.watch import Reloader

            watcher = Reloader(plughost)
            await watcher.start()
        await runner.setup()
        site = web.TCPSite(runner, bind, port)
        try:
            await site.start()
        except OSError as error:
            raise PlughostError(
                f"cannot listen on {bind}:{port}: {error.strerror or error}",
                hint="another server may hold the port: choose one with --port or [server] port",
            ) from None
        print_summary(plughost, server_url(bind, port), reload=reload)
        await stop.wait()
    finally:
        deadline = loop.time() + budget.total
        if watcher is not None:
            await watcher.stop()
        await plughost.shutdown()
        for running in list(runner.sites):
            await running.stop()
        await _drain(plughost, deadline - budget.reserved)
        await runner.cleanup()
        remaining = deadline - loop.time()
        try:
            async with asyncio.timeout(max(remaining, budget.cancel)):
                await plughost.close(
                    task_grace=min(budget.grace, max(remaining - budget.cancel, 0))
                )
        except TimeoutError:
            logger.warning("plugins still closing after shutdown_timeout; exiting anyway")


class _StopBudget:
    """How ``shutdown_timeout`` is shared out: requests, their cancellation, tasks, close()."""

    def __init__(self, total: float, task_grace: float) -> None:
        self.total = total
        #: aiohttp's wait for a cancelled handler (and, before it, for one still running)
        self.cancel = min(1.0, total / 10)
        #: what background tasks get, at most
        self.grace = min(task_grace, total / 4)
        #: kept back from the requests, for cancelling them, the tasks and close()
        self.reserved = 2 * self.cancel + self.grace + self.cancel


async def _drain(host: Host, until: float) -> None:
    """Let the requests in flight finish, until the loop's clock reads ``until``."""
    loop = asyncio.get_running_loop()
    while loop.time() < until and any(v.inflight for v in host.versions.values()):
        await asyncio.sleep(0.05)
