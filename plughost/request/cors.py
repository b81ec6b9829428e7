"""CORS with an allow-list of origins, as the host's own ``process_response`` hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

from ..urls import HOST_PATHS
from .hooks import HookFunction, HookSet
from .responses import error_response

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

    from ..config import CorsConfig
    from .context import Context

__all__ = ["Cors"]

_WILDCARD: Final = "*"


class Cors:
    """Adds CORS headers for origins on the list; answers preflight requests.

    The host's own pages (``/_plughost/...``: status, live page, reload) are never
    shared with another origin, whatever the list says.
    """

    def __init__(self, config: CorsConfig) -> None:
        self.config = config
        self._origins = frozenset(config.allow_origins)
        self._wildcard = _WILDCARD in self._origins
        self._methods = ", ".join(config.allow_methods)
        self._headers = ", ".join(config.allow_headers)

    def allow_origin(self, origin: str | None) -> str | None:
        """The value for ``Access-Control-Allow-Origin``, or None for an origin not on the list."""
        if not origin:
            return None
        if origin in self._origins:
            return origin
        if self._wildcard:
            return _WILDCARD
        return None

    def _decorate(self, response: web.StreamResponse, allowed: str) -> None:
        out = response.headers
        out["Access-Control-Allow-Origin"] = allowed
        if self.config.allow_credentials:
            out["Access-Control-Allow-Credentials"] = "true"

    def decorate(self, request: BaseRequest, response: web.StreamResponse) -> None:
        """Add ``Vary: Origin``, and the CORS headers when the request's origin is allowed.

        Every response varies by origin while CORS is on, those to unlisted origins and
        to requests without one included, so a shared cache never serves one origin's
        answer to another.
        """
        if request.path.startswith(HOST_PATHS):
            return
        out = response.headers
        vary = out.get("Vary")
        if not vary:
            out["Vary"] = "Origin"
        elif "origin" not in vary.lower():
            out["Vary"] = f"{vary}, Origin"
        allowed = self.allow_origin(request.headers.get("Origin"))
        if allowed is not None:
            self._decorate(response, allowed)

    def process_response(self, context: Context) -> None:
        response = context.response
        if response is None or response.prepared:
            return
        self.decorate(context.request, response)

    def is_preflight(self, request: BaseRequest) -> bool:
        return (
            request.method == "OPTIONS"
            and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers
        )

    def preflight(self, request: BaseRequest, *, exists: bool = True) -> web.Response:
        """204 with the allowed methods and headers; 403 for an origin or method not
        allowed; 404 when no route answers at the path (``exists`` is False)."""
        if request.path.startswith(HOST_PATHS):
            return web.Response(status=403, text="the host's own pages answer no other origin")
        allowed = self.allow_origin(request.headers.get("Origin"))
        method = request.headers.get("Access-Control-Request-Method", "").upper()
        if not exists:
            response = error_response(404, "Not Found")
        elif allowed is None or method not in self.config.allow_methods:
            response = web.Response(status=403, text="CORS preflight refused")
        else:
            response = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = self._methods
            if self._headers:
                response.headers["Access-Control-Allow-Headers"] = self._headers
            response.headers["Access-Control-Max-Age"] = str(self.config.max_age)
        self.decorate(request, response)
        if response.status == 403:
            for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"):
                response.headers.popall(name, None)
        return response

    def hooks(self) -> HookSet:
        return HookSet(
            owner="plughost.cors",
            source=self,
            functions={"process_response": HookFunction(self.process_response, False)},
            always=True,
        )
