"""A project as the CLI sees it without importing a plugin: config plus folder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..config import Config, PluginConfig
from ..discovery import PluginSource, discover
from ..errors import PlughostError, did_you_mean
from .sourcecache import analyse_cached
from .static import SourceInfo, analyse

__all__ = ["PluginEntry", "entries", "entry", "require_known"]


@dataclass(frozen=True, slots=True)
class PluginEntry:
    """One plugin on disk, in the config, or both."""

    name: str
    config: PluginConfig | None
    source: PluginSource | None
    #: what the source shows; None when the plugin is not on disk
    info: SourceInfo | None

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
        """``missing``, ``unconfigured``, ``enabled`` or ``disabled``."""
        if self.source is None:
            return "missing"
        if self.config is None:
            return "unconfigured"
        return "enabled" if self.config.enabled else "disabled"


def _entry(name: str, config: PluginConfig | None, source: PluginSource | None) -> PluginEntry:
    info = None
    if source is not None:
        info = analyse(source.path, config.route_path if config is not None else None)
    return PluginEntry(name, config, source, info)


def entries(config: Config) -> list[PluginEntry]:
    """Every plugin in load order: config sections first, then those only on disk."""
    sources = discover(config.plugins_dir)
    found: list[tuple[str, PluginConfig | None, PluginSource | None]] = [
        (p.name, p, sources.pop(p.name, None)) for p in config.plugins
    ]
    found.extend((name, None, source) for name, source in sources.items())
    on_disk = [
        (source.path, plugin.route_path if plugin is not None else None)
        for _, plugin, source in found
        if source is not None
    ]
    infos = iter(analyse_cached(config.plugins_dir, on_disk))
    return [
        PluginEntry(name, plugin, source, next(infos) if source is not None else None)
        for name, plugin, source in found
    ]


def entry(config: Config, name: str) -> PluginEntry:
    """The plugin called ``name``; an unknown name is an error suggesting a close one."""
    require_known(config, [name])
    sources = discover(config.plugins_dir)
    return _entry(name, config.plugin(name), sources.get(name))


def require_known(config: Config, names: Iterable[str]) -> None:
    """Refuse names that are neither on disk nor in the config.

    Raises:
        PlughostError: naming the first unknown plugin and the nearest known one.
    """
    known = [p.name for p in config.plugins]
    known.extend(name for name in discover(config.plugins_dir) if name not in known)
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
