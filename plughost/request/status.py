"""``/_plughost/status``: the live state of every plugin, for loopback clients or the key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

from ..urls import STATUS_PATH
from .auth import key_from, keys_equal
from .responses import error_response, json_response

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["add_status_route"]

_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


def add_status_route(host: Host) -> None:
    """Add the status endpoint to ``host``."""

    @host.route(STATUS_PATH, skip=True)
    async def status(request: web.BaseRequest) -> web.StreamResponse:
        if request.remote not in _LOOPBACK:
            expected = host.config.auth.key
            given = key_from(request, None, allow_query=False)
            if expected is None or given is None or not keys_equal(given, expected):
                return error_response(403, "the status endpoint answers loopback clients only")
        plugins = {name: s.as_dict() for name, s in host.status().items()}
        return json_response({"config": str(host.config.path), "plugins": plugins})
