"""A short digest of what a plugin version is made of: its files, its helpers, its section.

Workers compare digests to tell whether they serve the same version of a
plugin, and ``plughost reload`` to tell which plugins changed on disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..sources import package_root
from .importer import helper_imports

if TYPE_CHECKING:
    from ..config import PluginConfig
    from ..discovery import PluginSource

__all__ = ["source_digest"]


def _files(plugins_dir: Path, source: PluginSource, helpers: Iterable[str] | None) -> list[Path]:
    if source.distribution is not None:
        root = package_root(source)
        return [root] if root.is_file() else sorted(root.rglob("*.py"))
    files = [source.path] if not source.is_package else sorted(source.root.rglob("*.py"))
    for helper in sorted(helpers if helpers is not None else helper_imports(source)):
        module = plugins_dir / f"{helper}.py"
        package = plugins_dir / helper
        if module.is_file():
            files.append(module)
        elif package.is_dir():
            files.extend(sorted(package.rglob("*.py")))
    return files


def source_digest(
    plugins_dir: Path,
    source: PluginSource,
    plugin_config: PluginConfig,
    helpers: Iterable[str] | None = None,
    read: bytes | None = None,
) -> str:
    """Twelve hex digits over the plugin's files, the helpers it imports, and its section.

    ``helpers`` are the ``_helper`` modules the plugin imports, when an import
    just found them; otherwise its source is read for them. ``read`` is the
    plugin file's bytes as that import read them.
    """
    digest = hashlib.sha256(repr((plugin_config.name, plugin_config.enabled)).encode())
    digest.update(repr(sorted(plugin_config.params.items())).encode())
    digest.update(repr((plugin_config.route_path, plugin_config.auth_type)).encode())
    # A packaged plugin's files are named from its top-level package's folder.
    base = plugins_dir if source.distribution is None else package_root(source).parent
    for path in _files(plugins_dir, source, helpers):
        digest.update(str(path.relative_to(base)).encode())
        if read is not None and path == source.path:
            digest.update(read)
            continue
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing")
    return digest.hexdigest()[:12]
