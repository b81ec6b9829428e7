"""Plugins that installed distributions declare, found from their metadata alone.

A distribution declares each plugin in the ``plughost.plugins`` entry-point
group, as ``NAME = "module"``::

    [project.entry-points."plughost.plugins"]
    hello = "plughost_hello"

:func:`installed` reads the metadata of the distributions on ``sys.path``, and
:func:`locate` finds a plugin module's file with the import system's finders
(an editable install's finder included). Neither imports the plugin: a package
plugin runs no code until it is enabled, like a file dropped into ``plugins/``.
``PLUGHOST_DISABLE_PACKAGE_PLUGINS=1`` hides them all.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .discovery import Distribution, PluginSource
from .errors import PluginError

__all__ = ["DISABLE_VARIABLE", "ENTRY_POINT_GROUP", "PackagedPlugin", "installed", "locate"]

ENTRY_POINT_GROUP: Final = "plughost.plugins"
#: set to 1 to hide every packaged plugin (as PYTEST_DISABLE_PLUGIN_AUTOLOAD does for pytest)
DISABLE_VARIABLE: Final = "PLUGHOST_DISABLE_PACKAGE_PLUGINS"
_NORMALISE: Final = re.compile(r"[-_.]+")


@dataclass(frozen=True, slots=True)
class PackagedPlugin:
    """One ``plughost.plugins`` entry point of an installed distribution."""

    name: str
    #: the entry point's value: the module to import
    module: str
    distribution: Distribution


def _disabled() -> bool:
    return os.environ.get(DISABLE_VARIABLE, "").strip() not in ("", "0")


def installed() -> dict[str, tuple[PackagedPlugin, ...]]:
    """Every packaged plugin, by name; more than one for a name means two distributions clash.

    Reads metadata only. Empty when ``PLUGHOST_DISABLE_PACKAGE_PLUGINS`` is set.
    """
    if _disabled():
        return {}
    found: dict[str, list[PackagedPlugin]] = {}
    for folder in _distributions():
        entry_points = _read(folder / "entry_points.txt")
        if ENTRY_POINT_GROUP not in entry_points:
            continue
        declared = _group(entry_points, ENTRY_POINT_GROUP)
        if not declared:
            continue
        distribution = _distribution(folder)
        for name, value in declared:
            found.setdefault(name, []).append(PackagedPlugin(name, value, distribution))
    return {name: tuple(plugins) for name, plugins in sorted(found.items())}


def _distributions() -> Iterator[Path]:
    """The metadata folder of each distribution on ``sys.path``, as ``importlib.metadata``
    finds them: in path order, the first of each (normalised) name only.

    Importing ``importlib.metadata`` (with the email and zipfile modules it uses)
    would add about as much start-up time to ``plughost plugins list`` as the rest
    of the command line costs, so the folders are read directly.
    """
    seen: set[str] = set()
    for entry in list(sys.path):
        base = Path(entry or ".")
        try:
            names = sorted(os.listdir(base))
        except (OSError, ValueError):
            continue
        for child in names:
            stem, dot, suffix = child.rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            key = _NORMALISE.sub("_", stem.partition("-")[0]).lower()
            if key in seen:
                continue
            seen.add(key)
            yield base / child


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return ""


def _group(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of ``[group]`` in an ``entry_points.txt``."""
    found: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            inside = line == f"[{group}]"
            continue
        if inside and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def _distribution(folder: Path) -> Distribution:
    """Name and version from the metadata headers, and whether it is an editable install."""
    metadata = _read(folder / ("METADATA" if folder.suffix == ".dist-info" else "PKG-INFO"))
    headers: dict[str, str] = {}
    for line in metadata.split("\n\n", 1)[0].splitlines():
        key, colon, value = line.partition(":")
        if colon and key in ("Name", "Version") and key not in headers:
            headers[key] = value.strip()
    stem = folder.name.rpartition(".")[0]
    name = headers.get("Name") or stem.partition("-")[0]
    version = headers.get("Version") or stem.partition("-")[2] or "?"
    return Distribution(name, version, _editable(folder))


def _editable(folder: Path) -> bool:
    """True for ``pip install -e``, as the installer recorded it (PEP 610 ``direct_url.json``)."""
    text = _read(folder / "direct_url.json")
    if not text:
        return False
    import json  # only editable installs have the file

    try:
        record = json.loads(text)
    except ValueError:
        return False
    dir_info = record.get("dir_info") if isinstance(record, dict) else None
    return isinstance(dir_info, dict) and dir_info.get("editable") is True


def locate(plugin: PackagedPlugin) -> PluginSource:
    """The file of a packaged plugin's module, found without importing it.

    Raises:
        PluginError: the entry point does not name a module, or the module
            is not installed as Python source.
    """
    where = f"the distribution {plugin.distribution} declares plugin {plugin.name!r}"
    parts = plugin.module.split(".")
    if not all(part.isidentifier() for part in parts):
        raise PluginError(
            f"{where} as {plugin.module!r}, which is not a module name",
            plugin=plugin.name,
            hint=f'declare it as {plugin.name} = "package.module" in the '
            f'"{ENTRY_POINT_GROUP}" entry points',
        )
    if parts[0] in sys.stdlib_module_names or parts[0] == "plughost":
        raise PluginError(
            f"{where} as {plugin.module!r}, a module of "
            f"{'plughost' if parts[0] == 'plughost' else 'the standard library'}",
            plugin=plugin.name,
            hint="a plugin is a module of its own distribution",
        )
    spec, package = _find(parts)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise PluginError(
            f"{where} as module {plugin.module!r}, which is not installed as Python source",
            plugin=plugin.name,
            hint=f"reinstall {plugin.distribution.name}",
        )
    return PluginSource(
        plugin.name,
        Path(spec.origin),
        spec.submodule_search_locations is not None,
        plugin.distribution,
        plugin.module,
        package,
    )


def _find(parts: list[str]) -> tuple[importlib.machinery.ModuleSpec | None, str]:
    """The module's spec, and the first package on its path that is not a namespace
    package (``acme`` may be shared by many distributions; ``acme.shout`` is not)."""
    # Only the top-level name goes through sys.meta_path, which finds it
    # without running anything; a submodule is looked up in its parent's
    # folders directly, since importlib.util.find_spec would import the parent.
    package = ""
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None, package
    for depth in range(1, len(parts) + 1):
        if spec is None:
            return None, package
        if not package and spec.origin is not None:
            package = ".".join(parts[:depth])
        if depth == len(parts):
            break
        if not spec.submodule_search_locations:
            return None, package
        spec = importlib.machinery.PathFinder.find_spec(
            ".".join(parts[: depth + 1]), list(spec.submodule_search_locations)
        )
    return spec, package
