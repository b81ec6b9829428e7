"""The data behind ``plugins list``, ``plugins show``, ``check`` and ``routes``.

Each view is built once as plain JSON-ready data; ``--json`` prints it and
:mod:`plughost.cli.render` prints it for people, so the two never disagree.
The shapes are documented in docs/cli.md and are part of the public interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..sources import source_view
from .project import PluginEntry

if TYPE_CHECKING:
    from .inspection import PluginReport, RouteInfo

__all__ = ["JSON", "check_view", "list_view", "route_view", "routes_view", "show_view"]

JSON = dict[str, Any]


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _live(state: Mapping[str, Any] | None) -> JSON | None:
    if state is None:
        return None
    return {
        "state": state.get("state"),
        "version": state.get("version"),
        "loaded_at": state.get("loaded_at"),
        "error": state.get("error"),
        "workers": state.get("workers"),
        "mismatch": bool(state.get("mismatch")),
    }


def _worker_count(live: Mapping[str, Mapping[str, Any]] | None) -> int | None:
    """How many workers answered for the server (every plugin entry names them)."""
    if live is None:
        return None
    counts = [
        len(entry["workers"]) for entry in live.values() if isinstance(entry.get("workers"), dict)
    ]
    return max(counts, default=1)


def _status(
    plugin: PluginEntry, live: Mapping[str, Any] | None, report: PluginReport | None
) -> tuple[str, str | None]:
    if plugin.problem is not None:
        return plugin.static_status, plugin.problem.message
    if not plugin.on_disk:
        return "missing", None
    if report is not None and plugin.enabled:
        return ("ok", None) if report.ok else ("error", report.error)
    if live is not None and isinstance(live.get("state"), str):
        error = live.get("error")
        return live["state"], error if isinstance(error, str) else None
    if plugin.info is not None and plugin.info.error is not None:
        return plugin.static_status, plugin.info.error
    return plugin.static_status, None


def list_view(
    config: Config,
    plugins: Sequence[PluginEntry],
    *,
    live: Mapping[str, Mapping[str, Any]] | None,
    reports: Mapping[str, PluginReport] | None,
    url: str,
) -> JSON:
    """The ``plugins list --json`` document."""
    rows = []
    for plugin in plugins:
        state = live.get(plugin.name) if live is not None else None
        report = reports.get(plugin.name) if reports is not None else None
        status, error = _status(plugin, state, report)
        info = plugin.info
        rows.append(
            {
                "name": plugin.name,
                "enabled": plugin.enabled,
                "in_config": plugin.in_config,
                "on_disk": plugin.on_disk,
                "path": _path(plugin.source.path if plugin.source else None),
                "source": source_view(plugin.source) if plugin.source else None,
                "kind": info.kind if info else None,
                "routes": [{"method": m, "rule": r} for m, r in info.routes] if info else [],
                "params": dict(plugin.params),
                "status": status,
                "error": error,
                "live": _live(state),
            }
        )
    return {
        "config": str(config.path),
        "plugins_dir": str(config.plugins_dir),
        "server": {"url": url, "live": live is not None, "workers": _worker_count(live)},
        "plugins": rows,
    }


def _params(plugin: PluginEntry) -> list[JSON]:
    from ..params import declared_params

    declared = declared_params(plugin.source.path) if plugin.source else None
    configured = dict(plugin.params)
    rows: list[JSON] = []
    for spec in (declared or {}).values():
        rows.append(
            {
                "name": spec.name,
                "type": spec.type,
                "default": spec.default,
                "value": configured.pop(spec.name, None),
                "set": spec.name in plugin.params,
                "declared": True,
            }
        )
    for key, value in configured.items():
        rows.append(
            {
                "name": key,
                "type": None,
                "default": None,
                "value": value,
                "set": True,
                "declared": False,
            }
        )
    return rows


def route_view(route: RouteInfo) -> JSON:
    return {
        "method": route.method,
        "rule": route.rule,
        "plugin": route.plugin,
        "wrappers": list(route.wrappers),
        "hooks": {hook: list(owners) for hook, owners in route.hooks},
    }


def show_view(
    config: Config,
    plugin: PluginEntry,
    *,
    live: Mapping[str, Any] | None,
    report: PluginReport | None,
) -> JSON:
    """The ``plugins show --json`` document."""
    section = None
    if plugin.config is not None:
        section = {
            "enabled": plugin.config.enabled,
            "route_path": plugin.config.route_path,
            "auth_type": plugin.config.auth_type,
            "apikey": "***" if plugin.config.apikey else None,
            "apikey_env": plugin.config.apikey_env,
        }
    status, error = _status(plugin, live, report)
    info = plugin.info
    routes: list[JSON]
    kind: str | None
    if report is not None and report.ok:
        routes = [route_view(route) for route in report.routes]
        hooks: Iterable[str] = report.hooks
        wrappers: Iterable[str] = report.wrappers
        # The kind read from source is what `plugins list` shows; keep them equal.
        kind = info.kind if info is not None and info.kind is not None else report.kind
    else:
        routes = [{"method": m, "rule": r} for m, r in info.routes] if info else []
        hooks = info.hooks if info else ()
        wrappers = info.wrappers if info else ()
        kind = info.kind if info else None
    return {
        "name": plugin.name,
        "path": _path(plugin.source.path if plugin.source else None),
        "package": bool(plugin.source and plugin.source.is_package),
        "source": source_view(plugin.source) if plugin.source else None,
        "config": str(config.path),
        "in_config": plugin.in_config,
        "enabled": plugin.enabled,
        "status": status,
        "error": error,
        "kind": kind,
        "section": section,
        "params": _params(plugin),
        "routes": routes,
        "hooks": list(hooks),
        "wrappers": list(wrappers),
        "imported": report is not None,
        "live": _live(live),
    }


def check_view(config: Config, reports: Mapping[str, PluginReport]) -> JSON:
    """The ``check --json`` document: enabled plugins missing on disk, then load errors."""
    from ..errors import PluginError
    from ..sources import Sources

    sources = Sources.scan(config.plugins_dir)
    problems: list[JSON] = []
    missing = set()
    for plugin in config.enabled:
        try:
            found = sources.resolve(plugin.name, plugin.source) is not None
        except PluginError:
            found = True  # the load reports why it cannot choose
        if not found:
            missing.add(plugin.name)
            problems.append(
                {
                    "plugin": plugin.name,
                    "message": f"enabled, but not found in {config.plugins_dir}",
                }
            )
    for report in reports.values():
        if not report.ok and report.name not in missing:
            problems.append({"plugin": report.name, "message": report.error or "failed to load"})
    return {
        "config": str(config.path),
        "ok": not problems,
        "problems": problems,
        "warnings": [
            {"plugin": r.name, "message": message}
            for r in reports.values()
            for message in r.warnings
        ],
        "plugins": [{"name": r.name, "ok": r.ok, "error": r.error} for r in reports.values()],
    }


def routes_view(config: Config, reports: Mapping[str, PluginReport]) -> JSON:
    """The ``routes --json`` document."""
    return {
        "config": str(config.path),
        "routes": [route_view(route) for report in reports.values() for route in report.routes],
        "errors": [{"plugin": r.name, "error": r.error} for r in reports.values() if not r.ok],
    }
