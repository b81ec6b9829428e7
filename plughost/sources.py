"""Where each plugin's code comes from: the plugins folder or an installed package.

A name that both provide, or that two packages provide, is an error naming
both, never a silent pick; ``[plugins.NAME] source = "package"`` or
``"folder"`` chooses between the folder and a package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .config import SourceChoice
from .discovery import PluginSource, discover, is_plugin_name, source_of
from .errors import PluginError, PluginSourceConflictError
from .packages import PackagedPlugin, installed, locate

__all__ = ["Sources", "describe_source", "package_root", "source_view"]


@dataclass(frozen=True, slots=True)
class Sources:
    """The plugins a project can load: its plugins folder and the packaged plugins.

    The packaged plugins are read once, by :meth:`scan`; scan again after
    installing or removing a distribution.
    """

    plugins_dir: Path
    #: packaged plugins by name, as installed when scanned
    packaged: Mapping[str, tuple[PackagedPlugin, ...]]

    @classmethod
    def scan(cls, plugins_dir: Path) -> Sources:
        """Read the installed packages' metadata now (nothing is imported)."""
        return cls(plugins_dir, MappingProxyType(installed()))

    def folder(self) -> dict[str, PluginSource]:
        """The plugins in the plugins folder, by name."""
        return discover(self.plugins_dir)

    def names(self) -> list[str]:
        """Every name either place provides: the folder's, then the other packaged ones."""
        names = list(self.folder())
        names.extend(name for name in self.packaged if name not in names)
        return names

    def resolve(self, name: str, choice: SourceChoice | None = None) -> PluginSource | None:
        """The source of plugin ``name``, or None when nothing provides it.

        Raises:
            PluginSourceConflictError: two places provide ``name`` and ``choice``
                does not settle it.
            PluginError: the package declaring ``name`` does not hold its module.
        """
        folder = source_of(self.plugins_dir, name) if choice != "package" else None
        packaged = self.packaged.get(name, ()) if choice != "folder" else ()
        if folder is not None and not packaged:
            return folder
        if not packaged:
            return None
        if folder is not None or len(packaged) > 1:
            raise self._conflict(name, folder, packaged)
        if not is_plugin_name(name):
            raise PluginError(
                f"the distribution {packaged[0].distribution} declares plugin {name!r}, "
                "which is not a plugin name",
                plugin=name,
                hint="a plugin name is a Python identifier, not a keyword, "
                "that does not start with '_'",
            )
        return locate(packaged[0])

    def _conflict(
        self, name: str, folder: PluginSource | None, packaged: tuple[PackagedPlugin, ...]
    ) -> PluginSourceConflictError:
        places = [describe_source(folder)] if folder is not None else []
        places.extend(f"the distribution {plugin.distribution}" for plugin in packaged)
        listed = ", ".join(places[:-1]) + f" and {places[-1]}"
        uninstall = " ".join(plugin.distribution.name for plugin in packaged)
        if folder is not None and len(packaged) == 1:
            hint = (
                f'choose one: source = "folder" or source = "package" in [plugins.{name}], '
                f"or `plughost plugins enable {name} --source folder|package`"
            )
        elif folder is not None:
            hint = (
                f'source = "folder" in [plugins.{name}] chooses the folder; to use a package, '
                f"uninstall the others (pip uninstall {uninstall})"
            )
        else:
            hint = f"uninstall all but one of them (pip uninstall {uninstall})"
        return PluginSourceConflictError(
            f"plugin {name!r} is provided by {listed}",
            plugin=name,
            sources=tuple(places),
            hint=hint,
        )


def package_root(source: PluginSource) -> Path:
    """The folder of a packaged plugin's package (:attr:`PluginSource.package`), or
    its module file.

    A packaged plugin is imported afresh with that whole package, so every file
    in it is the plugin's.
    """
    root = source.root
    for _ in range((source.module or "").count(".") - (source.package or "").count(".")):
        root = root.parent
    return root


def describe_source(source: PluginSource) -> str:
    """The plugin's file, or ``the distribution NAME VERSION``, for messages."""
    if source.distribution is not None:
        return f"the distribution {source.distribution}"
    return str(source.path)


def source_view(source: PluginSource) -> dict[str, Any]:
    """Where a plugin comes from, as JSON-ready data (``plugins list --json``, the status)."""
    if source.distribution is None:
        return {"type": "folder", "path": str(source.path)}
    return {
        "type": "package",
        "distribution": source.distribution.name,
        "version": source.distribution.version,
        "editable": source.distribution.editable,
        "module": source.module,
        "path": str(source.path),
    }
