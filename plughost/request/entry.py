"""The request entry: aiohttp's low-level server, answering from the current route table.

The host enters aiohttp through the low-level :class:`aiohttp.web.Server`:
aiohttp's Application freezes its router at start-up, while plughost swaps
whole route tables as plugins change, so it resolves routes itself against
its current :class:`~plughost.request.table.RouteTable` snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_log import AccessLogger
from aiohttp.web_urldispatcher import MatchInfoError
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ..errors import HTTPError
from .auth import KEY_ARGUMENT
from .responses import error_response, exception_response

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

    from ..host import Host

__all__ = ["BodyTimeoutError", "RedactingAccessLogger", "build_server"]

_REDACTED: Final = "<redacted>"


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access logger, with any ``apikey`` query value blanked out.

    It redacts what the key lookup sees: the decoded query, so ``?api%6Bey=KEY``
    is redacted as well as ``?apikey=KEY`` (in any letter case), in the request
    line and in the ``Referer`` the default format logs too.
    """

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        path_qs = None
        if request.query_string and _holds_key(request.query):
            path_qs = _redacted(URL(request.raw_path, encoded=True))
        referer = request.headers.get("Referer")
        clean_referer = _redacted_referer(referer) if referer else None
        if path_qs is not None or clean_referer != referer:
            request = _RedactedRequest(request, path_qs, clean_referer)  # type: ignore[assignment]
        super().log(request, response, time)


def _holds_key(query: Mapping[str, str]) -> bool:
    return any(key.lower() == KEY_ARGUMENT for key in query)


def _redacted(url: URL) -> str:
    """``url``'s path and query, every value of an ``apikey`` argument replaced."""
    query = [
        (key, _REDACTED if key.lower() == KEY_ARGUMENT else value)
        for key, value in url.query.items()
    ]
    return str(url.with_query(query))


def _redacted_referer(referer: str) -> str:
    """A Referer with any ``apikey`` value replaced; one that cannot be parsed, whole."""
    try:
        url = URL(referer)
        if not _holds_key(url.query):
            return referer
        return _redacted(url)
    except (ValueError, TypeError):
        return _REDACTED


class _RedactedRequest:
    """A read-only view of a request whose path and query show a redacted key.

    ``request.clone()`` would do, but aiohttp refuses to clone a request
    whose body has been read.
    """

    def __init__(self, request: BaseRequest, path_qs: str | None, referer: str | None) -> None:
        self._request = request
        self.path_qs = request.path_qs if path_qs is None else path_qs
        self.rel_url = request.rel_url if path_qs is None else URL(path_qs)
        headers = CIMultiDict(request.headers)
        if referer is not None:
            headers["Referer"] = referer
        self.headers = CIMultiDictProxy(headers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class BodyTimeoutError(HTTPError, TimeoutError):
    """408: the client did not send the request body within ``[server] body_timeout``.

    A TimeoutError too, so that aiohttp, draining what is left of the body after the
    response, treats it as the timeout it is and closes the connection quietly.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s")


def _expire(payload: StreamReader, seconds: float) -> None:
    if not payload.is_eof():
        payload.set_exception(BodyTimeoutError(seconds))


def _entry(host: Host) -> Callable[[BaseRequest], Awaitable[web.StreamResponse]]:
    # One coroutine from aiohttp to the route's handler when the body has arrived (always,
    # for a GET): each extra await layer on this path is a measurable share of a request.
    async def entry(request: BaseRequest, timed: bool = False) -> web.StreamResponse:
        if not timed and not request.content.is_eof():
            return await _with_body_timeout(host, request, entry)
        table = host.table
        methods = table.plain.get(request.rel_url.path_safe)
        route = methods.get(request.method) if methods is not None else None
        cors = host.cors
        if route is not None:
            params: Mapping[str, str] = {}
            if cors is not None and request.method == "OPTIONS" and cors.is_preflight(request):
                return cors.preflight(request, exists=True)
        else:
            match = await table.router.resolve(request)  # type: ignore[arg-type]
            route = table.by_route.get(match.route)
            if cors is not None and request.method == "OPTIONS" and cors.is_preflight(request):
                return cors.preflight(request, exists=route is not None or _path_exists(match))
            if route is None:
                response = _no_route(match)
                if cors is not None:
                    cors.decorate(request, response)
                return response
            params = match
        handler = route.handler
        if handler is None:
            try:
                handler = host.handler(route)
            except Exception as error:
                debug = host.config.server.debug
                response = exception_response(error, debug=debug, where=repr(route))
                if cors is not None:
                    cors.decorate(request, response)
                return response
        # Counted inline, on the hot path; plughost.reload.retire waits on these counts.
        holders = route.holders
        for version in holders:
            version.inflight += 1
        try:
            return await handler(request, params)
        finally:
            for version in holders:
                version.inflight -= 1
                if not version.inflight and version.draining:
                    version.drained.set()

    return entry


async def _with_body_timeout(
    host: Host,
    request: BaseRequest,
    entry: Callable[[BaseRequest, bool], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Answer a request whose body is still arriving, within ``[server] body_timeout``."""
    payload = request.content
    seconds = host.config.server.body_timeout
    timer = asyncio.get_running_loop().call_later(seconds, _expire, payload, seconds)
    try:
        response = await entry(request, True)
    finally:
        timer.cancel()
    if isinstance(payload.exception(), BodyTimeoutError):
        response.force_close()
    return response


def _path_exists(match: Any) -> bool:
    """True when some route answers at the request's path (for another method: a 405)."""
    return isinstance(match, MatchInfoError) and match.http_exception.status != 404


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
    # web.Server needs a running loop too, and serves on that one loop.
    loop = kwargs.get("loop") or asyncio.get_running_loop()

    def request_factory(
        message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> web.BaseRequest:
        return web.BaseRequest(
            message, payload, protocol, writer, task, loop, client_max_size=max_size
        )

    kwargs.setdefault("keepalive_timeout", server_config.keepalive_timeout)
    kwargs.setdefault("access_log_class", RedactingAccessLogger)
    return web.Server(_entry(host), request_factory=request_factory, **kwargs)
