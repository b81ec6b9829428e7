"""A project as the CLI sees it without importing a plugin: config, folder and packages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..config import Config, PluginConfig
from ..discovery import PluginSource
from ..errors import PlughostError, PluginError, PluginSourceConflictError, did_you_mean
from ..sources import Sources
from .sourcecache import analyse_cached
from .sourceinfo import SourceInfo

__all__ = ["PluginEntry", "entries", "entry", "require_known"]


@dataclass(frozen=True, slots=True)
class PluginEntry:
    """One plugin in the plugins folder, in an installed package, in the config, or several."""

    name: str
    config: PluginConfig | None
    source: PluginSource | None
    #: what the source shows; None when the plugin is not found
    info: SourceInfo | None
    #: why the plugin's source cannot be told: two places provide it, or its
    #: package lacks the module
    problem: PluginError | None = None

    @property
    def enabled(self) -> bool:
        return self.config is not None and self.config.enabled

    @property
    def in_config(self) -> bool:
        return self.config is not None

    @property
    def on_disk(self) -> bool:
        return self.source is not None

    @property
    def params(self) -> Mapping[str, Any]:
        return self.config.params if self.config is not None else {}

    @property
    def static_status(self) -> str:
        """``conflict``, ``error``, ``missing``, ``unconfigured``, ``enabled`` or ``disabled``."""
        if isinstance(self.problem, PluginSourceConflictError):
            return "conflict"
        if self.problem is not None:
            return "error"
        if self.source is None:
            return "missing"
        if self.config is None:
            return "unconfigured"
        return "enabled" if self.config.enabled else "disabled"


def _resolve(
    sources: Sources, name: str, config: PluginConfig | None
) -> tuple[PluginSource | None, PluginError | None]:
    try:
        return sources.resolve(name, config.source if config is not None else None), None
    except PluginError as error:
        return None, error


def entries(config: Config, sources: Sources | None = None) -> list[PluginEntry]:
    """Every plugin in load order: config sections first, then the folder's, then packages'."""
    if sources is None:
        sources = Sources.scan(config.plugins_dir)
    names = [p.name for p in config.plugins]
    names.extend(name for name in sources.names() if name not in names)
    found = [
        (name, config.plugin(name), *_resolve(sources, name, config.plugin(name))) for name in names
    ]
    located = [
        (source.path, plugin.route_path if plugin is not None else None)
        for _, plugin, source, _ in found
        if source is not None
    ]
    infos = iter(analyse_cached(config.plugins_dir, located))
    return [
        PluginEntry(name, plugin, source, next(infos) if source is not None else None, problem)
        for name, plugin, source, problem in found
    ]


def entry(config: Config, name: str) -> PluginEntry:
    """The plugin called ``name``; an unknown name is an error suggesting a close one."""
    sources = Sources.scan(config.plugins_dir)
    require_known(config, [name], sources)
    plugin = config.plugin(name)
    source, problem = _resolve(sources, name, plugin)
    info = None
    if source is not None:
        from .static import analyse

        info = analyse(source.path, plugin.route_path if plugin is not None else None)
    return PluginEntry(name, plugin, source, info, problem)


def require_known(config: Config, names: Iterable[str], sources: Sources | None = None) -> None:
    """Refuse names that are not in the plugins folder, an installed package or the config.

    Raises:
        PlughostError: naming the first unknown plugin and the nearest known one.
    """
    if sources is None:
        sources = Sources.scan(config.plugins_dir)
    known = [p.name for p in config.plugins]
    known.extend(name for name in sources.names() if name not in known)
    for name in names:
        if name in known:
            continue
        hint = did_you_mean(
            name,
            known,
            f"known plugins: {', '.join(known)}"
            if known
            else "create one with `plughost new NAME`",
        )
        raise PlughostError(
            f"no plugin named {name!r} in {config.plugins_dir} or in {config.path}", hint=hint
        )
