"""Which packaged plugins are installed in editable mode (``pip install -e``), and which of
them a change to their files touches.

An editable install leaves the project's own files in place, so an edit there
is an edit of the plugin: the enabled plugins it provides reload, as one
transaction each, like a plugin in the plugins folder. The files of a regular
install change only when it is reinstalled, so they are not watched; a restart
picks such a change up. :mod:`plughost.reload.packagewatch` watches the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..discovery import PluginSource
from ..errors import PluginError
from ..sources import Sources, package_root

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["editable_roots", "host_roots", "plugins_touched_in"]


def editable_roots(
    config: Config, sources: Sources, live: Mapping[str, PluginSource] | None = None
) -> dict[Path, frozenset[str]]:
    """The files to watch for each enabled packaged plugin installed in editable mode.

    Args:
        config: the plugins enabled.
        sources: where each comes from.
        live: the source of each plugin serving now, which wins over ``sources``.
    """
    roots: dict[Path, set[str]] = {}
    for plugin in config.enabled:
        source = (live or {}).get(plugin.name)
        if source is None:
            try:
                source = sources.resolve(plugin.name, plugin.source)
            except PluginError:
                continue
        if source is None or source.distribution is None or not source.distribution.editable:
            continue
        roots.setdefault(package_root(source).absolute(), set()).add(plugin.name)
    return {root: frozenset(names) for root, names in roots.items()}


def host_roots(host: Host) -> dict[Path, frozenset[str]]:
    """:func:`editable_roots` for a running host."""
    live = {name: version.source for name, version in host.versions.items()}
    return editable_roots(host.config, host.sources, live)


def plugins_touched_in(roots: Mapping[Path, frozenset[str]], paths: Iterable[Path]) -> set[str]:
    """The plugins whose package holds one of ``paths``."""
    touched: set[str] = set()
    for path in paths:
        for root, names in roots.items():
            if path == root or path.is_relative_to(root):
                touched |= names
    return touched
