"""One server for the dispatch benchmark, on a free 127.0.0.1 port.

Usage::

    python bench/dispatch_server.py raw
    python bench/dispatch_server.py plughost path/to/plughost.toml

``raw`` serves a plain aiohttp ``web.Application`` with one ``GET /hello``
route returning ``web.json_response({"hello": "world"})``. ``plughost`` serves
a project the way ``plughost run`` does: ``open_host`` + ``build_server`` on an
aiohttp ``ServerRunner``. The access log is off in both.

The server binds port 0, prints ``PORT <number>`` on stdout once it accepts
connections, and runs until stdin reaches end of file (the benchmark driver
holds a pipe open; at a terminal, press Ctrl-D), SIGINT or SIGTERM arrives, or
``--max-seconds`` pass, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from aiohttp import web

__all__ = ["main"]


async def _hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


async def _raw_runner() -> web.BaseRunner:
    app = web.Application()
    app.router.add_get("/hello", _hello)
    return web.AppRunner(app, access_log=None, handle_signals=False)


async def _plughost_runner(config_path: Path) -> tuple[web.BaseRunner, object]:
    from plughost.config import load_config
    from plughost.server import build_server, open_host

    host = await open_host(load_config(config_path))
    failed = {name: s.error for name, s in host.status().items() if s.error}
    if failed:
        await host.close()
        raise SystemExit(f"plugins failed to load: {failed}")
    server = build_server(host, access_log=None)
    return web.ServerRunner(server, handle_signals=False), host


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop when stdin closes, so a server never outlives the driver that started it."""

    def wait() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader
        # aborts the interpreter at shutdown.
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        try:
            loop.call_soon_threadsafe(stop.set)
        except RuntimeError:  # the loop has already closed
            pass

    threading.Thread(target=wait, name="stdin-watch", daemon=True).start()


async def _serve(kind: str, config_path: Path | None, max_seconds: float) -> None:
    host: object = None
    if kind == "raw":
        runner = await _raw_runner()
    else:
        assert config_path is not None
        runner, host = await _plughost_runner(config_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _watch_stdin(loop, stop)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        await runner.setup()
        site = web.SockSite(runner, sock)
        await site.start()
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), max_seconds)
        except TimeoutError:
            print(f"stopping after --max-seconds {max_seconds:g}", file=sys.stderr)
    finally:
        await runner.cleanup()
        sock.close()
        if host is not None:
            from plughost.host import Host

            assert isinstance(host, Host)
            await host.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["raw", "plughost"])
    parser.add_argument("config", nargs="?", type=Path, help="plughost.toml (plughost only)")
    parser.add_argument(
        "--max-seconds", type=float, default=600.0, help="hard upper bound on the run time"
    )
    args = parser.parse_args(argv)
    if args.kind == "plughost" and args.config is None:
        parser.error("plughost needs the path of a plughost.toml")
    asyncio.run(_serve(args.kind, args.config, args.max_seconds))


if __name__ == "__main__":
    main()
