"""Find plugins on disk without importing them.

A plugin is ``plugins/NAME.py`` or ``plugins/NAME/__init__.py`` where NAME is a
Python identifier not starting with ``_`` (those files are shared helpers).
A plugin may also come from an installed distribution (:mod:`plughost.packages`);
its :class:`PluginSource` then names the distribution.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["Distribution", "PluginSource", "discover", "is_plugin_name", "source_of"]

_IDENTIFIER: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class Distribution:
    """An installed distribution that declares plugins (``pip install`` put it there)."""

    name: str
    version: str
    #: installed with ``pip install -e``: its files are the project's own source
    editable: bool = False

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True, slots=True)
class PluginSource:
    """Where a plugin's code lives."""

    name: str
    #: the module file: ``NAME.py`` or ``NAME/__init__.py``
    path: Path
    is_package: bool
    #: the distribution declaring the plugin; None for the plugins folder
    distribution: Distribution | None = None
    #: the module a packaged plugin is imported as (its entry point's value)
    module: str | None = None
    #: the package a packaged plugin is imported afresh with: the first on the
    #: module's path that is not a namespace package (usually the top-level one)
    package: str | None = None

    @property
    def root(self) -> Path:
        """The file of a module plugin, the folder of a package plugin."""
        return self.path.parent if self.is_package else self.path


def is_plugin_name(name: str) -> bool:
    """True for an ASCII identifier that is not a keyword and does not start with ``_``."""
    return bool(_IDENTIFIER.match(name)) and not keyword.iskeyword(name)


def source_of(plugins_dir: Path, name: str) -> PluginSource | None:
    """The plugin called ``name`` in ``plugins_dir``, or None when there is none.

    A plugin reached through a symlink that leaves ``plugins_dir`` is not found.
    """
    if not is_plugin_name(name):
        return None
    package = plugins_dir / name / "__init__.py"
    module = plugins_dir / f"{name}.py"
    for path, is_package in ((package, True), (module, False)):
        if path.is_file():
            return PluginSource(name, path, is_package)
    return None


def discover(plugins_dir: Path) -> dict[str, PluginSource]:
    """Every plugin in ``plugins_dir``, sorted by name. A missing folder holds none."""
    found: dict[str, PluginSource] = {}
    try:
        entries = sorted(plugins_dir.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        name = entry.name[:-3] if entry.name.endswith(".py") else entry.name
        if name in found:
            continue
        source = source_of(plugins_dir, name)
        if source is not None:
            found[name] = source
    return found
