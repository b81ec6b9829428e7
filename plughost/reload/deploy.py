"""``POST /_plughost/reload``: apply what is on disk to the running server, all or nothing.

``plughost reload`` posts here. With one process the server applies the change
itself; with workers, the worker that receives the request asks the
coordinator, which applies it in every worker. Only a client on this machine may
ask (a loopback peer naming a loopback host, through no proxy): never by API key,
which is handed to API clients, and whatever ``[server] status`` says.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ..errors import ConfigError
from ..request.responses import error_response, json_response
from ..request.status import is_local_request
from ..urls import RELOAD_PATH
from .change import ChangeRequest, apply_change

if TYPE_CHECKING:
    from ..config import Config
    from ..host import Host

__all__ = [
    "APPLIED",
    "RELOAD_HEADER",
    "Deploy",
    "add_reload_route",
    "reload_in_process",
    "report",
    "report_for",
]

#: the header ``plughost reload`` sends with its request
RELOAD_HEADER: Final = "X-Plughost-Reload"
#: the outcomes that are not failures
APPLIED: Final = ("reloaded", "loaded", "unloaded")
#: applies a change and returns the report ``plughost reload`` prints
Deploy = Callable[[ChangeRequest], Awaitable[dict[str, Any]]]


def reload_in_process(host: Host) -> Deploy:
    """Apply changes to ``host`` alone: the server is one process."""

    async def deploy(request: ChangeRequest) -> dict[str, Any]:
        try:
            found = await apply_change(host, request)
        except ConfigError as error:
            return report(host, [], str(error))
        return report(host, [outcome.as_dict() for outcome in found])

    return deploy


def report(
    host: Host,
    plugins: list[dict[str, Any]],
    error: str | None = None,
    workers: list[int] | None = None,
    skew_ms: float | None = None,
) -> dict[str, Any]:
    """The reload report ``plughost reload`` prints: one entry per plugin, and the workers."""
    return report_for(host.config, plugins, error, workers, skew_ms)


def report_for(
    config: Config,
    plugins: list[dict[str, Any]],
    error: str | None = None,
    workers: list[int] | None = None,
    skew_ms: float | None = None,
) -> dict[str, Any]:
    """:func:`report` for a server of several workers, which has a config but no host."""
    ok = error is None and all(p["outcome"] in APPLIED for p in plugins)
    return {
        "ok": ok,
        "error": error,
        "config": str(config.path),
        "workers": workers if workers is not None else [os.getpid()],
        "skew_ms": skew_ms,
        "plugins": plugins,
    }


def add_reload_route(host: Host, deploy: Deploy | None = None) -> None:
    """Add the reload endpoint to ``host``; ``deploy`` defaults to this process alone."""
    apply = deploy if deploy is not None else reload_in_process(host)

    @host.route(RELOAD_PATH, method="POST", skip=True)
    async def reload(request: web.BaseRequest) -> web.StreamResponse:
        if not is_local_request(request.remote, request.host, request.headers):
            return error_response(403, "the reload endpoint answers clients on this machine only")
        if request.headers.get(RELOAD_HEADER) != "1":
            # A page in a browser cannot send this header to another origin without a
            # preflight, which CORS refuses for the host's own paths: no cross-site reloads.
            return error_response(400, f"send the header {RELOAD_HEADER}: 1 (plughost reload does)")
        return json_response(await apply(ChangeRequest(everything=True)))
