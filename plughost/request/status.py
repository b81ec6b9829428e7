"""``/_plughost/status``: the live state of every plugin, for loopback clients or the key.

:func:`status_allowed` and :func:`status_document` are the one access rule and
the one body for every ``/_plughost/`` page that shows the host's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ..params import redacted
from ..urls import STATUS_PATH
from .auth import key_from, keys_equal
from .responses import error_response, json_response

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["REFUSED", "add_status_route", "status_allowed", "status_document"]

_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
#: the body of a 403 for a client :func:`status_allowed` refuses
REFUSED: Final = "the status endpoint answers loopback clients only"


def status_allowed(host: Host, request: web.BaseRequest) -> bool:
    """True for a loopback client, or one presenting the global API key in a header."""
    if request.remote in _LOOPBACK:
        return True
    expected = host.config.auth.key
    given = key_from(request, None, allow_query=False)
    return expected is not None and given is not None and keys_equal(given, expected)


def status_document(host: Host) -> dict[str, Any]:
    """The status endpoint's JSON body: each plugin's status, live routes and params.

    Params whose name says they hold a secret are shown as ``"***"``.
    """
    routes: dict[str, list[dict[str, str]]] = {}
    for route in host.routes:
        if route.plugin:
            routes.setdefault(route.plugin, []).append({"method": route.method, "rule": route.rule})
    plugins = {}
    for name, status in host.status().items():
        entry = status.as_dict()
        plugin_config = host.config.plugin(name)
        entry["routes"] = routes.get(name, [])
        entry["params"] = redacted(plugin_config.params) if plugin_config is not None else {}
        plugins[name] = entry
    return {"config": str(host.config.path), "plugins": plugins}


def add_status_route(host: Host) -> None:
    """Add the status endpoint to ``host``."""

    @host.route(STATUS_PATH, skip=True)
    async def status(request: web.BaseRequest) -> web.StreamResponse:
        if not status_allowed(host, request):
            return error_response(403, REFUSED)
        return json_response(status_document(host))
