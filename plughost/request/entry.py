"""The request entry: aiohttp's low-level server, answering from the current route table.

The host enters aiohttp through the low-level :class:`aiohttp.web.Server`:
aiohttp's Application freezes its router at start-up, while plughost swaps
whole route tables as plugins change, so it resolves routes itself against
its current :class:`~plughost.request.table.RouteTable` snapshot.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from aiohttp.web_log import AccessLogger
from aiohttp.web_urldispatcher import MatchInfoError
from yarl import URL

from .responses import error_response, exception_response

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

    from ..host import Host

__all__ = ["RedactingAccessLogger", "build_server"]

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
