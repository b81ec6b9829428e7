"""The start-up summary ``plughost run`` prints: plugins, routes, the URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..urls import PAGE_PATH
from .console import Cell, info, print_table, styled

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["print_summary"]

#: the subpath twin an endpoint plugin gets beside ``/<route_path>``
_SUBPATH: Final = "/{subpath:.*}"
_STYLE: Final = {"loaded": "green", "error": "red", "disabled": "dim", "missing": "yellow"}


def print_summary(host: Host, url: str, *, reload: bool) -> None:
    """One table row per plugin with its routes, then why each failed plugin failed, the URL."""
    routes_by_plugin: dict[str, list[str]] = {}
    served = {(route.method, route.rule) for route in host.routes}
    for route in host.routes:
        if not route.plugin:
            continue
        rule = route.rule
        if rule.endswith(_SUBPATH) and (route.method, rule.removesuffix(_SUBPATH)) in served:
            continue  # shown as "[/...]" on the route it extends
        if (route.method, rule + _SUBPATH) in served:
            rule += "[/...]"
        routes_by_plugin.setdefault(route.plugin, []).append(f"{route.method} {rule}")
    rows: list[list[Cell]] = []
    failures: list[str] = []
    versions = host.versions
    for name, status in host.status().items():
        state = status.state.value
        label = name
        version = versions.get(name)
        distribution = version.source.distribution if version is not None else None
        if distribution is not None:
            label += f" ({distribution}{', editable' if distribution.editable else ''})"
        rows.append(
            [label, (state, _STYLE.get(state, "")), ", ".join(routes_by_plugin.get(name, []))]
        )
        if status.error:
            failures.append(f"{name}: {status.error.splitlines()[0]}")
    print_table(("plugin", "status", "routes"), rows)
    for failure in failures:
        info(failure, "red")
    mode = " (reloading on change)" if reload else ""
    info(f"Serving on {styled(url, 'bold')}{mode}; press Ctrl-C to stop")
    if host.config.server.status != "off":
        info(f"Live page: {styled(url + PAGE_PATH, 'bold')}  (plugins, reloads and errors)")
