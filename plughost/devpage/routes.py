"""The live page's routes: the page, its event stream and its static files.

Every one answers under the status endpoint's access rule
(:func:`~plughost.request.status.status_allowed`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ..request.responses import error_response
from ..request.status import REFUSED, status_allowed, status_document
from ..urls import EVENTS_PATH, PAGE_PATH, STATIC_PATH
from .events import EventHub
from .page import render_page

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["STATIC_FILES", "add_devpage"]

#: the files under /_plughost/static/, with their content types
STATIC_FILES: Final = {
    "page.css": "text/css",
    "page.js": "text/javascript",
    "livereload.js": "text/javascript",
}
_NO_STORE: Final = {"Cache-Control": "no-store"}


@functools.cache
def _static_file(name: str) -> bytes:
    """A file of the package's ``static/`` folder, read on the first request for it.

    Reading them when the page is first used keeps ``importlib.resources``' readers
    (and ``zipfile``) out of a server whose live page nobody opens.
    """
    from importlib import resources

    return (resources.files(__package__) / "static" / name).read_bytes()


def add_devpage(
    host: Host, document: Callable[[], Awaitable[dict[str, Any]]] | None = None
) -> EventHub:
    """Add the live page to ``host``; returns the hub that records and streams its events.

    Args:
        host: the host to add the routes to and whose changes to follow.
        document: gives the status endpoint's body, when that is not this host's own
            :func:`~plughost.request.status.status_document` (several workers, merged).
    """
    hub = EventHub(host)

    async def own() -> dict[str, Any]:
        return status_document(host)

    body = document if document is not None else own

    @host.route(PAGE_PATH.rstrip("/"), skip=True)
    async def slash() -> web.StreamResponse:
        return web.Response(status=308, headers={"Location": PAGE_PATH})

    @host.route(PAGE_PATH, skip=True)
    async def page(request: web.BaseRequest) -> web.StreamResponse:
        if not status_allowed(host, request):
            return error_response(403, REFUSED)
        return web.Response(
            text=render_page(await body(), hub.history),
            content_type="text/html",
            headers=_NO_STORE,
        )

    @host.route(EVENTS_PATH, skip=True)
    async def events(request: web.BaseRequest) -> web.StreamResponse:
        if not status_allowed(host, request):
            return error_response(403, REFUSED)
        return await hub.stream(request)

    @host.route(STATIC_PATH + "{name}", skip=True)
    async def static_file(request: web.BaseRequest, name: str) -> web.StreamResponse:
        if not status_allowed(host, request):
            return error_response(403, REFUSED)
        if name not in STATIC_FILES:
            return error_response(404, "Not Found")
        return web.Response(
            body=_static_file(name),
            content_type=STATIC_FILES[name],
            headers={"Cache-Control": "no-cache"},
        )

    return hub
