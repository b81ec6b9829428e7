"""``plughost run``: open a host for a project, serve it, and shut down gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Final

from aiohttp import web

from .config import Config
from .devpage.routes import add_devpage
from .host import Host
from .request.entry import build_server
from .request.status import add_status_route
from .urls import server_url

__all__ = ["build_server", "open_host", "serve"]

logger: Final = logging.getLogger("plughost.server")


async def open_host(config: Config) -> Host:
    """A Host for ``config`` with every enabled plugin loaded, the status route and the page."""
    host = Host(config)
    if config.cors.enabled:
        host.set_cors(config.cors)
    add_status_route(host)
    add_devpage(host)
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
    """Run the server for ``config`` until Ctrl-C or SIGTERM, then shut down gracefully."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # plughost prints one line per reload; watchfiles' own "N changes detected" is noise.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    asyncio.run(
        _serve(config, host or config.server.host, port or config.server.port, reload, access_log)
    )


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
    runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=10)
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
        await site.start()
        print_summary(plughost, server_url(bind, port), reload=reload)
        await stop.wait()
    finally:
        if watcher is not None:
            await watcher.stop()
        await plughost.shutdown()
        await runner.cleanup()
        await plughost.close()
