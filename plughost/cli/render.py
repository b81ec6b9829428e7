"""The views of :mod:`plughost.cli.views`, printed for people."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from .console import Cell, info, print_table, styled

__all__ = [
    "display",
    "format_value",
    "print_plugin",
    "print_plugin_list",
    "print_problems",
    "print_routes",
    "source_text",
]

_STATUS_STYLES: Final = {
    "ok": "green",
    "loaded": "green",
    "enabled": "green",
    "error": "red",
    "conflict": "red",
    "missing": "yellow",
    "disabled": "dim",
    "unconfigured": "dim",
}


def display(path: Path | str) -> str:
    """``path`` relative to the working directory when it is inside it."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_value(value: object) -> str:
    """A params value as TOML-ish text: strings quoted, booleans lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def print_plugin_list(view: Mapping[str, Any]) -> None:
    """``plugins list``: one row per plugin."""
    rows: list[list[Cell]] = []
    # The source column appears once a packaged plugin does; a project of
    # folder plugins only reads as before.
    packaged = any(
        source_text(row["source"]) or row["status"] == "conflict" for row in view["plugins"]
    )
    folder = _folder_text(view)
    for row in view["plugins"]:
        status = row["status"]
        live = row["live"]
        if live is not None and live.get("mismatch") and live.get("workers"):
            served = ", ".join(f"{pid}: v{w['version']}" for pid, w in live["workers"].items())
            status = f"{status} MISMATCH ({served})"
        elif live is not None and live["version"] is not None:
            status = f"{status} v{live['version']}"
        if row["error"]:
            status = f"{status}: {row['error']}"
        cells: list[Cell] = [(row["name"], "bold"), "yes" if row["enabled"] else "no"]
        if packaged:
            if row["status"] == "conflict":
                cells.append(("two sources", "red"))
            else:
                cells.append(source_text(row["source"]) or folder)
        cells.extend(
            [
                row["kind"] or "",
                ", ".join(f"{r['method']} {r['rule']}" for r in row["routes"]),
                ", ".join(f"{k}={format_value(v)}" for k, v in row["params"].items()),
                (status, _STATUS_STYLES.get(row["status"], "")),
            ]
        )
        rows.append(cells)
    headers = ["name", "enabled", *(["source"] if packaged else []), "kind", "routes"]
    print_table([*headers, "params", "status"], rows)
    if view["server"]["live"]:
        workers = view["server"].get("workers") or 1
        served = f" ({workers} workers)" if workers > 1 else ""
        info(styled(f"live status from {view['server']['url']}{served}", "dim"))


def _folder_text(view: Mapping[str, Any]) -> str:
    """The plugins folder as the config names it: ``plugins/``."""
    folder = Path(view["plugins_dir"])
    try:
        return f"{folder.relative_to(Path(view['config']).parent)}/"
    except ValueError:
        return f"{folder}/"


def source_text(source: Mapping[str, Any] | None) -> str | None:
    """``plughost-hello 1.0 (editable)`` for a packaged plugin; None for the folder's."""
    if source is None or source.get("type") != "package":
        return None
    editable = " (editable)" if source.get("editable") else ""
    return f"{source['distribution']} {source['version']}{editable}"


def _default_text(default: str | None) -> str:
    """A default as written in source, shown like the values next to it."""
    import ast

    if default is None:
        return "(required)"
    try:
        return format_value(ast.literal_eval(default))
    except (ValueError, SyntaxError):
        return default


def print_plugin(view: Mapping[str, Any]) -> None:
    """``plugins show``: the plugin's facts, then its params and routes."""
    kind = f"{view['kind']} plugin" if view["kind"] else "plugin"
    info(styled(view["name"], "bold") + f"  ({kind}, {view['status']})")
    section = view["section"] or {}
    package = source_text(view["source"])
    lines = [
        *([("package", f"{package}, module {view['source']['module']}")] if package else []),
        (
            "file",
            display(view["path"])
            if view["path"]
            else "two places provide it"
            if view["status"] == "conflict"
            else "not found",
        ),
        (
            "config",
            f"[plugins.{view['name']}] in {display(view['config'])}"
            if view["in_config"]
            else "no section (listed, never imported)",
        ),
        *(
            (key, str(section[key]))
            for key in ("route_path", "auth_type", "apikey_env")
            if section.get(key)
        ),
    ]
    if view["live"]:
        lines.append(("live", f"{view['live']['state']} (version {view['live']['version']})"))
    if view["error"]:
        lines.append(("error", styled(view["error"], "red")))
    if not view["imported"] and view["path"]:
        lines.append(("source", "read from the file; the plugin was not imported"))
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        info(f"  {key.ljust(width)}  {value}")
    info("")
    if view["params"]:
        print_table(
            ["param", "type", "default", "value"],
            [
                [
                    param["name"],
                    param["type"] or "(not declared)",
                    _default_text(param["default"]) if param["declared"] else "",
                    format_value(param["value"]) if param["set"] else "(default)",
                ]
                for param in view["params"]
            ],
        )
    else:
        info("  no params")
    if view["routes"]:
        info("")
        print_table(
            ["method", "rule", "wrappers"],
            [[r["method"], r["rule"], ", ".join(r.get("wrappers", []))] for r in view["routes"]],
        )
    info("")
    info(f"  hooks     {', '.join(view['hooks']) or '-'}")
    info(f"  wrappers  {', '.join(view['wrappers']) or '-'}")


def print_problems(problems: Sequence[Mapping[str, Any]]) -> None:
    """``check``: one row per problem."""
    print_table(
        ["plugin", "problem"],
        [[(p["plugin"] or "-", "bold"), (p["message"], "red")] for p in problems],
    )


def _hook_summary(hooks: Mapping[str, Sequence[str]]) -> str:
    """``{hook: [plugins]}`` as ``plugin: hook, hook; ...``, without the host's own."""
    by_plugin: dict[str, list[str]] = {}
    for hook, owners in hooks.items():
        for owner in owners:
            if owner != "plughost":
                by_plugin.setdefault(owner, []).append(hook)
    return "; ".join(f"{owner}: {', '.join(names)}" for owner, names in by_plugin.items())


def print_routes(routes: Sequence[Mapping[str, Any]]) -> None:
    """``routes``: one row per method and rule."""
    if not routes:
        info("No routes: no enabled plugin registers one.")
        return
    print_table(
        ["method", "rule", "plugin", "wrappers", "hooks"],
        [
            [
                route["method"],
                (route["rule"], "bold"),
                route["plugin"] or "",
                ", ".join(route["wrappers"]),
                _hook_summary(route["hooks"]),
            ]
            for route in routes
        ],
    )
