"""aiohttp wiring: the request entry, the status endpoint, and ``plughost run``.

The host enters aiohttp through the low-level :class:`aiohttp.web.Server`:
aiohttp's Application freezes its router at start-up, while plughost swaps
whole route tables as plugins change, so it resolves routes itself against
its current :class:`~plughost.routing.RouteTable` snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from aiohttp.web_log import AccessLogger
from aiohttp.web_urldispatcher import MatchInfoError
from yarl import URL

from .auth import key_from, keys_equal
from .config import Config
from .host import Host
from .responses import error_response, exception_response, json_response

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

__all__ = ["STATUS_PATH", "build_server", "open_host", "serve"]

logger: Final = logging.getLogger("plughost.server")
STATUS_PATH: Final = "/_plughost/status"
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
_KEY_IN_QUERY: Final = re.compile(r"(?i)([?&]apikey=)[^&\s]*")


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access logger, with any ``apikey`` query value blanked out."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        if "apikey" in request.query_string.lower():
            redacted = _KEY_IN_QUERY.sub(r"\1<redacted>", request.path_qs)
            request = _RedactedRequest(request, redacted)  # type: ignore[assignment]
        super().log(request, response, time)


class _RedactedRequest:
    """A read-only view of a request whose path and query show a redacted key.

    ``request.clone()`` would do, but aiohttp refuses to clone a request
    whose body has been read.
    """

    def __init__(self, request: BaseRequest, path_qs: str) -> None:
        self._request = request
        self.path_qs = path_qs
        self.rel_url = URL(path_qs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def _entry(host: Host) -> Callable[[BaseRequest], Awaitable[web.StreamResponse]]:
    async def entry(request: BaseRequest) -> web.StreamResponse:
        if request.method == "OPTIONS":
            cors = host.cors
            if cors is not None and cors.is_preflight(request):
                return cors.preflight(request)
        route, match = await host.table.resolve(request)
        if route is None:
            return _no_route(match)
        try:
            handler = route.handler or host.handler(route)
        except Exception as error:
            return exception_response(error, debug=host.config.server.debug, where=repr(route))
        holders = route.holders
        for version in holders:
            version.inflight += 1
        try:
            return await handler(request, match)
        finally:
            for version in holders:
                version.inflight -= 1
                if not version.inflight and version.draining:
                    version.drained.set()

    return entry


def _no_route(match: Any) -> web.StreamResponse:
    if isinstance(match, MatchInfoError):
        error = match.http_exception
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        message = error.reason
        return error_response(error.status, message, headers=headers)
    return error_response(404, "Not Found")  # pragma: no cover - resolve always matches or errors


def build_server(host: Host, **kwargs: Any) -> web.Server:
    """An aiohttp low-level server answering with ``host``'s current routes."""
    server_config = host.config.server
    max_size = server_config.client_max_size

    def request_factory(*args: Any) -> web.BaseRequest:
        message, payload, protocol, writer, task = args
        return web.BaseRequest(
            message,
            payload,
            protocol,
            writer,
            task,
            asyncio.get_running_loop(),
            client_max_size=max_size,
        )

    kwargs.setdefault("keepalive_timeout", server_config.keepalive_timeout)
    kwargs.setdefault("access_log_class", RedactingAccessLogger)
    return web.Server(_entry(host), request_factory=request_factory, **kwargs)


def _status_route(host: Host) -> None:
    @host.route(STATUS_PATH, skip=True)
    async def status(request: web.BaseRequest) -> web.StreamResponse:
        if request.remote not in _LOOPBACK:
            expected = host.config.auth.key
            given = key_from(request, None, allow_query=False)
            if expected is None or given is None or not keys_equal(given, expected):
                return error_response(403, "the status endpoint answers loopback clients only")
        plugins = {name: s.as_dict() for name, s in host.status().items()}
        return json_response({"config": str(host.config.path), "plugins": plugins})


async def open_host(config: Config) -> Host:
    """A Host for ``config`` with every enabled plugin loaded and the status route added."""
    host = Host(config)
    if config.cors.enabled:
        host.set_cors(config.cors)
    _status_route(host)
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
    from .summary import print_summary

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
            from .reload import Reloader

            watcher = Reloader(plughost)
            await watcher.start()
        await runner.setup()
        site = web.TCPSite(runner, bind, port)
        await site.start()
        print_summary(plughost, f"http://{_url_host(bind)}:{port}", reload=reload)
        await stop.wait()
    finally:
        if watcher is not None:
            await watcher.stop()
        await runner.cleanup()
        await plughost.close()


def _url_host(bind: str) -> str:
    return f"[{bind}]" if ":" in bind else bind
