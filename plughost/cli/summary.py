"""The start-up summary ``plughost run`` prints: plugins, routes, the URL."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from ..host import Host, PluginState

__all__ = ["print_summary"]

_STYLE = {
    PluginState.LOADED: "green",
    PluginState.ERROR: "red",
    PluginState.DISABLED: "dim",
    PluginState.MISSING: "yellow",
}


def print_summary(host: Host, url: str, *, reload: bool) -> None:
    console = Console(highlight=False)
    plain = not console.is_terminal or console.no_color
    table = Table(
        title="plughost",
        title_justify="left",
        box=None if plain else box.HEAVY_HEAD,
        show_edge=not plain,
    )
    table.add_column("plugin")
    table.add_column("status")
    table.add_column("routes")
    routes_by_plugin: dict[str, list[str]] = {}
    for route in host.routes:
        if route.plugin:
            routes_by_plugin.setdefault(route.plugin, []).append(f"{route.method} {route.rule}")
    for name, status in host.status().items():
        state = status.state
        text = f"[{_STYLE[state]}]{state.value}[/]"
        if status.error:
            text += f"\n[red]{status.error}[/]"
        table.add_row(name, text, "\n".join(routes_by_plugin.get(name, [])))
    console.print(table)
    mode = " (reloading on change)" if reload else ""
    console.print(f"Serving on [bold]{url}[/]{mode}; press Ctrl-C to stop")
