"""The start-up summary ``plughost run`` prints: plugins, routes, the URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..urls import PAGE_PATH
from .console import Cell, info, print_table, styled

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["print_summary"]

_STYLE: Final = {"loaded": "green", "error": "red", "disabled": "dim", "missing": "yellow"}


def print_summary(host: Host, url: str, *, reload: bool) -> None:
    """One table row per route of each plugin, the error of a plugin that failed, the URL."""
    routes_by_plugin: dict[str, list[str]] = {}
    for route in host.routes:
        if route.plugin:
            routes_by_plugin.setdefault(route.plugin, []).append(f"{route.method} {route.rule}")
    rows: list[list[Cell]] = []
    for name, status in host.status().items():
        state = status.state.value
        routes = routes_by_plugin.get(name) or [""]
        rows.append([name, (state, _STYLE.get(state, "")), routes[0]])
        rows.extend(["", "", more] for more in routes[1:])
        if status.error:
            rows.append(["", (status.error.splitlines()[0], "red"), ""])
    print_table(("plugin", "status", "routes"), rows)
    mode = " (reloading on change)" if reload else ""
    info(f"Serving on {styled(url, 'bold')}{mode}; press Ctrl-C to stop")
    if host.config.server.status != "off":
        info(f"Live page: {styled(url + PAGE_PATH, 'bold')}  (plugins, reloads and errors)")
