"""``/_plughost/status``: the live state of every plugin, for local clients or the key.

:func:`status_allowed` and :func:`status_document` are the one access rule and
the one body for every ``/_plughost/`` page that shows the host's state. Each
plugin's entry says where its code comes from (the plugins folder or an installed
distribution); ``packaged`` lists every plugin that installed packages declare.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ..errors import PluginError
from ..params import redacted
from ..sources import source_view
from ..urls import STATUS_PATH
from ..workers.merge import merge_documents
from .auth import key_from, keys_equal
from .responses import error_response, json_response

if TYPE_CHECKING:
    from ..host import Host

__all__ = [
    "REFUSED",
    "Document",
    "add_status_route",
    "is_local_request",
    "status_allowed",
    "status_document",
]

#: the status endpoint's body, for a server of several workers
Document = Callable[[], Awaitable[dict[str, Any]]]
#: headers a reverse proxy adds; through one, every client looks like a loopback peer
_PROXY_HEADERS: Final = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")
#: the body of a 403 for a client :func:`status_allowed` refuses
REFUSED: Final = (
    "the status endpoint answers loopback clients that name a loopback host, "
    "or a client with the API key"
)


def status_allowed(host: Host, request: web.BaseRequest) -> bool:
    """Whether ``request`` may read the host's state (config path, plugin errors).

    ``[server] status = "loopback"`` (the default) allows a loopback peer that
    names a loopback host (so a DNS-rebinding page is refused) and came through no
    reverse proxy (behind one on the same host, every client is a loopback peer),
    and any client with the global API key in a header. ``"key"`` asks every
    client for the key; ``"off"`` refuses everyone.
    """
    mode = host.config.server.status
    if mode == "off":
        return False
    if mode == "loopback" and is_local_request(request.remote, request.host, request.headers):
        return True
    expected = host.config.auth.key
    given = key_from(request, None, allow_query=False)
    return expected is not None and given is not None and keys_equal(given, expected)


def is_local_request(peer: str | None, host_header: str, headers: Mapping[str, str]) -> bool:
    """True for a loopback peer naming a loopback host, with no proxy's forwarding headers."""
    if not _is_loopback(peer) or not _is_loopback(_host_name(host_header)):
        return False
    return not any(name in headers for name in _PROXY_HEADERS)


def _host_name(host_header: str) -> str:
    """The host of a ``Host`` header: ``[::1]:8080`` -> ``::1``, ``a:80`` -> ``a``."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    if host_header.count(":") == 1:
        return host_header.partition(":")[0]
    return host_header


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    if address.lower().rstrip(".") == "localhost":
        return True
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.is_loopback


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
        entry["source"] = _source(host, name)
        plugins[name] = entry
    packaged = [
        {
            "name": plugin.name,
            "distribution": plugin.distribution.name,
            "version": plugin.distribution.version,
            "editable": plugin.distribution.editable,
            "module": plugin.module,
            "enabled": bool((config := host.config.plugin(plugin.name)) and config.enabled),
        }
        for providers in host.sources.packaged.values()
        for plugin in providers
    ]
    return {"config": str(host.config.path), "plugins": plugins, "packaged": packaged}


def _source(host: Host, name: str) -> dict[str, Any] | None:
    """Where the plugin's live version came from; else where it would load from."""
    version = host.versions.get(name)
    if version is not None:
        return source_view(version.source)
    plugin = host.config.plugin(name)
    try:
        source = host.sources.resolve(name, plugin.source if plugin is not None else None)
    except PluginError:
        return None
    return source_view(source) if source is not None else None


def add_status_route(host: Host, document: Document | None = None) -> None:
    """Add the status endpoint to ``host``.

    ``document`` gives the body when the server is several workers (every
    worker's status, merged); by default it is this process's.
    """

    async def alone() -> dict[str, Any]:
        return merge_documents({os.getpid(): status_document(host)})

    body = document if document is not None else alone

    @host.route(STATUS_PATH, skip=True)
    async def status(request: web.BaseRequest) -> web.StreamResponse:
        if not status_allowed(host, request):
            return error_response(403, REFUSED)
        return json_response(await body())
