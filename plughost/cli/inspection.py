"""Load a project's plugins without serving them, and report what each contributes.

Used by ``plughost check``, ``plughost routes``, ``plughost plugins show`` and
``plughost plugins list --check``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import Config
from ..host import Host
from ..request.context import STAGE_NAMES
from ..request.handler import effective_hooks

__all__ = ["PluginReport", "RouteInfo", "inspect_project"]


@dataclass(frozen=True, slots=True)
class RouteInfo:
    method: str
    rule: str
    plugin: str | None
    #: wrapper plugins applied to this route, outermost first
    wrappers: tuple[str, ...]
    #: per hook, the plugins whose implementation runs, in order
    hooks: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class PluginReport:
    name: str
    enabled: bool
    ok: bool
    error: str | None = None
    kind: str = "unknown"
    routes: tuple[RouteInfo, ...] = ()
    #: the hook names this plugin implements
    hooks: tuple[str, ...] = ()
    #: the wrappers this plugin installs
    wrappers: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    #: what loaded but looks wrong (a misspelt hook name, a hook object with no hooks)
    warnings: tuple[str, ...] = ()


def inspect_project(config: Config, names: Sequence[str] | None = None) -> list[PluginReport]:
    """Import the enabled plugins (or just ``names``) in a host that never serves.

    Every plugin is loaded into one host, in load order, so route conflicts
    and the effective hook order are those the server would have.
    """
    return asyncio.run(_inspect(config, names))


async def _inspect(config: Config, names: Sequence[str] | None) -> list[PluginReport]:
    host = Host(config)
    wanted = [p.name for p in config.plugins if p.enabled] if names is None else list(names)
    errors: dict[str, str] = {}
    try:
        for name in wanted:
            plugin = config.plugin(name)
            if plugin is None or not plugin.enabled:
                continue
            result = await host.load(name)
            if not result.ok:
                errors[name] = str(result.error)
        routes_by_plugin: dict[str | None, list[RouteInfo]] = {}
        for route in host.routes:
            wrappers = tuple(_label(p) for p in reversed(list(route.all_plugins())))
            hooks = tuple(effective_hooks(route, host.hook_sets).items())
            routes_by_plugin.setdefault(route.plugin, []).append(
                RouteInfo(route.method, route.rule, route.plugin, wrappers, hooks)
            )
        reports = []
        for name in wanted:
            plugin = config.plugin(name)
            enabled = bool(plugin and plugin.enabled)
            version = host.versions.get(name)
            if version is None:
                reports.append(
                    PluginReport(
                        name,
                        enabled,
                        ok=not enabled,
                        error=errors.get(name) or (None if enabled else "disabled"),
                    )
                )
                continue
            hook_names = tuple(
                hook
                for hook in STAGE_NAMES
                if any(hook in h.functions for h in version.handle.hooks)
            )
            params = version.handle.params
            shown = dict(params) if isinstance(params, Mapping) else dict(vars(params))
            reports.append(
                PluginReport(
                    name,
                    enabled,
                    ok=name not in errors,
                    error=errors.get(name),
                    kind=version.kind,
                    routes=tuple(routes_by_plugin.get(name, [])),
                    hooks=hook_names,
                    wrappers=tuple(w.label for w in version.handle.wrappers),
                    params=shown,
                    warnings=tuple(version.handle.warnings),
                )
            )
        return reports
    finally:
        await host.close()


def _label(plugin: object) -> str:
    name = getattr(plugin, "name", None)
    if isinstance(name, str) and name:
        return name
    return getattr(plugin, "__name__", type(plugin).__name__)
