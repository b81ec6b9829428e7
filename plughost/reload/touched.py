"""Which plugins a change touches: the plugin's own files, a package's submodules, or a
``_helper`` module and every plugin that imports it."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ..discovery import is_plugin_name, source_of
from .importer import helper_imports, namespace_for

if TYPE_CHECKING:
    from ..config import Config
    from ..host import Host

__all__ = ["forget_helpers", "plugins_touched", "watch_roots"]

logger: Final = logging.getLogger("plughost.reload")


def plugins_touched(host: Host, paths: Iterable[Path]) -> tuple[set[str], set[str]]:
    """The plugins a set of changed paths touches, and the helper modules among them."""
    plugins_dir = host.config.plugins_dir.absolute()
    plugins: set[str] = set()
    helpers: set[str] = set()
    for path in paths:
        try:
            head = path.absolute().relative_to(plugins_dir).parts[0]
        except (ValueError, IndexError):
            continue
        name = head.removesuffix(".py")
        if name.startswith("_") and name[1:2].isidentifier():
            helpers.add(name)
        elif is_plugin_name(name):
            plugins.add(name)
    if helpers:
        versions = host.versions
        for plugin in host.config.enabled:
            version = versions.get(plugin.name)
            if version is not None:
                imported = version.imported.helpers
            else:
                # A plugin that failed (perhaps because of this helper) may load now.
                source = source_of(host.config.plugins_dir, plugin.name)
                imported = helper_imports(source) if source is not None else frozenset()
            if imported & helpers:
                plugins.add(plugin.name)
    return plugins, helpers


def forget_helpers(config: Config, helpers: set[str]) -> None:
    """Drop changed helper modules so the next import of their importers runs them afresh."""
    namespace = namespace_for(config.plugins_dir)
    package = sys.modules[namespace]
    for helper in helpers:
        if hasattr(package, helper):
            delattr(package, helper)
        prefix = f"{namespace}.{helper}"
        for key in [k for k in sys.modules if k == prefix or k.startswith(prefix + ".")]:
            del sys.modules[key]


def watch_roots(plugins_dir: Path) -> tuple[list[Path], list[Path]]:
    """The folders to watch recursively, and those to watch alone, to cover ``plugins_dir``.

    A watcher follows symlinked folders, so a link out of the plugins folder would put
    the tree behind it under watch. Without such a link, the whole folder is one
    recursive root; with one, each folder on the way to it is watched alone (not
    recursively) and every other subtree recursively, so the link is never followed.
    """
    real = plugins_dir.resolve()
    escaping: list[Path] = []
    for directory, folders, _ in os.walk(plugins_dir):
        for name in folders:
            path = Path(directory) / name
            if path.is_symlink() and not path.resolve().is_relative_to(real):
                escaping.append(path)
                logger.warning(
                    "%s is a symlink to %r, outside the plugins folder: it is not watched",
                    path,
                    str(path.resolve()),
                )
    if not escaping:
        return [plugins_dir], []
    recursive: list[Path] = []
    alone: list[Path] = []

    def plan(directory: Path) -> None:
        if not any(link.is_relative_to(directory) for link in escaping):
            recursive.append(directory)
            return
        alone.append(directory)
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                plan(Path(entry.path))

    plan(plugins_dir)
    return recursive, alone
