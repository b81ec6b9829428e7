"""CORS with an allow-list of origins, as the host's own ``process_response`` hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

from .hooks import HookFunction, HookSet

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

    from ..config import CorsConfig
    from .context import Context

__all__ = ["Cors"]

_WILDCARD: Final = "*"


class Cors:
    """Adds CORS headers for origins on the list; answers preflight requests."""

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
        if allowed != _WILDCARD:
            vary = out.get("Vary")
            if not vary:
                out["Vary"] = "Origin"
            elif "origin" not in vary.lower():
                out["Vary"] = f"{vary}, Origin"
        if self.config.allow_credentials:
            out["Access-Control-Allow-Credentials"] = "true"

    def process_response(self, context: Context) -> None:
        response = context.response
        if response is None or response.prepared:
            return
        allowed = self.allow_origin(context.request.headers.get("Origin"))
        if allowed is not None:
            self._decorate(response, allowed)

    def is_preflight(self, request: BaseRequest) -> bool:
        return (
            request.method == "OPTIONS"
            and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers
        )

    def preflight(self, request: BaseRequest) -> web.Response:
        """204 with the allowed methods and headers, or 403 for an origin not on the list."""
        allowed = self.allow_origin(request.headers.get("Origin"))
        method = request.headers.get("Access-Control-Request-Method", "").upper()
        if allowed is None or method not in self.config.allow_methods:
            return web.Response(status=403, text="CORS preflight refused")
        response = web.Response(status=204)
        self._decorate(response, allowed)
        response.headers["Access-Control-Allow-Methods"] = self._methods
        if self._headers:
            response.headers["Access-Control-Allow-Headers"] = self._headers
        response.headers["Access-Control-Max-Age"] = str(self.config.max_age)
        return response

    def hooks(self) -> HookSet:
        return HookSet(
            owner="plughost.cors",
            source=self,
            functions={"process_response": HookFunction(self.process_response, False)},
            always=True,
        )
