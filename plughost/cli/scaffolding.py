"""The files ``plughost init``, ``plughost new`` and ``plughost new --package`` write.

``new`` runs every check before anything is written, and a failure part-way
removes what was created, so a refusal leaves the project exactly as it was.
"""

from __future__ import annotations

import contextlib
import keyword
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..config import Config
from ..errors import PluginNameError
from . import configfile, scaffold

__all__ = [
    "NewPackage",
    "NewPlugin",
    "check_name",
    "create_package",
    "create_plugin",
    "write_pytest_config",
]

#: files in which a project may already configure pytest
_PYTEST_CONFIGS: Final = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


@dataclass(frozen=True, slots=True)
class NewPlugin:
    """What ``plughost new`` created."""

    name: str
    kind: str
    plugin_path: Path
    test_path: Path


@dataclass(frozen=True, slots=True)
class NewPackage:
    """What ``plughost new --package`` created."""

    name: str
    kind: str
    #: the project folder, ``plughost-NAME/``
    root: Path
    files: tuple[Path, ...]


def _refuse(name: str, reason: str, hint: str | None = None) -> PluginNameError:
    return PluginNameError(
        f"cannot create plugin {name!r}: {reason}; nothing was written", hint=hint
    )


def _suggest(name: str, base: str | None = None) -> str | None:
    """A valid name close to ``name`` (derived from ``base`` when given)."""
    candidate = (name if base is None else base).strip().replace("-", "_").replace(" ", "_").lower()
    if candidate.endswith(".py"):
        candidate = candidate[:-3]
    candidate = candidate.lstrip("_")
    if candidate.isascii() and candidate.isidentifier() and not keyword.iskeyword(candidate):
        if candidate in sys.stdlib_module_names:
            candidate += "_plugin"
        return f"try {candidate!r}" if candidate != name else None
    return None


def check_name(name: str, config: Config) -> None:
    """Refuse a name that cannot be a new plugin's, saying why.

    Raises:
        PluginNameError: the name is not a bare ASCII identifier, starts with
            ``_``, is a keyword or a standard-library module, or is taken.
    """
    _check_identifier(name, f"{config.server.plugins_dir}/")
    plugins_dir = config.plugins_dir
    for taken in (plugins_dir / f"{name}.py", plugins_dir / name):
        if os.path.lexists(taken):
            raise _refuse(name, f"{taken} already exists")
    if config.plugin(name) is not None:
        raise _refuse(name, f"[plugins.{name}] already exists in {config.path}")
    test_path = _test_path(config, name)
    if os.path.lexists(test_path):
        raise _refuse(name, f"{test_path} already exists")


def _check_identifier(name: str, where: str) -> None:
    if not name:
        raise _refuse(name, "the name is empty")
    separators = {"/", "\\", os.sep, os.altsep or "/"}
    if any(sep in name for sep in separators) or name.startswith(".") or ".." in name:
        raise _refuse(
            name,
            f"it is a path; give a bare name and plughost creates the file in {where}",
            _suggest(name, Path(name.replace("\\", "/")).name),
        )
    if name.endswith(".py"):
        raise _refuse(name, "give the name without '.py'", _suggest(name))
    if not name.isascii():
        raise _refuse(name, "a plugin name must be ASCII", _suggest(name))
    if not name.isidentifier():
        raise _refuse(
            name,
            "a plugin name must be a Python identifier (letters, digits and '_', "
            "not starting with a digit)",
            _suggest(name),
        )
    if name.startswith("_"):
        raise _refuse(
            name, "names starting with '_' are helper modules, not plugins", _suggest(name)
        )
    if keyword.iskeyword(name):
        raise _refuse(name, "it is a Python keyword", f"try {name + '_plugin'!r}")
    if name in sys.stdlib_module_names:
        raise _refuse(
            name, "it is the name of a standard-library module", f"try {name + '_plugin'!r}"
        )


def _test_path(config: Config, name: str) -> Path:
    return config.root / "tests" / f"test_{name}.py"


def _create(path: Path, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(text)


def create_plugin(config: Config, name: str, kind: str) -> NewPlugin:
    """Write ``plugins/NAME.py``, ``tests/test_NAME.py`` and ``[plugins.NAME]``.

    Raises:
        PluginNameError: see :func:`check_name`.
        ConfigError: the config changed or cannot be written; nothing was written.
    """
    check_name(name, config)
    sources = scaffold.render(kind, name, config_name=config.path.name)
    plugin_path = config.plugins_dir / f"{name}.py"
    test_path = _test_path(config, name)
    created: list[Path] = []
    try:
        for path, text in ((plugin_path, sources.plugin), (test_path, sources.test)):
            if not path.parent.is_dir():
                path.parent.mkdir(parents=True)
                created.append(path.parent)
            try:
                _create(path, text)
            except FileExistsError:
                raise _refuse(name, f"{path} already exists") from None
            created.append(path)
        configfile.add_plugin_section(
            config.path, name, enabled=True, params=scaffold.EXAMPLE_PARAMS[kind]
        )
    except BaseException:
        for path in reversed(created):
            with contextlib.suppress(OSError):
                path.rmdir() if path.is_dir() else path.unlink()
        raise
    return NewPlugin(name, kind, plugin_path, test_path)


def create_package(folder: Path, name: str, kind: str) -> NewPackage:
    """Write a distributable plugin project in ``folder/plughost-NAME/``.

    Raises:
        PluginNameError: see :func:`check_name`; or the folder exists. Nothing
            is left behind on failure.
    """
    from .. import __version__

    _check_identifier(name, "plughost-NAME/")
    root = folder / f"plughost-{name}"
    if os.path.lexists(root):
        raise _refuse(name, f"{root} already exists")
    sources = scaffold.render_package(kind, name, plughost_version=__version__)
    root.mkdir(parents=True)
    written = []
    try:
        for relative, text in sources.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            _create(path, text)
            written.append(path)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return NewPackage(name, kind, root, tuple(written))


def write_pytest_config(folder: Path) -> Path | None:
    """Write ``pytest.ini`` for the generated async tests, unless pytest is configured.

    Returns the file written, or None when the folder already configures pytest.
    """
    if any((folder / name).exists() for name in _PYTEST_CONFIGS):
        return None
    path = folder / "pytest.ini"
    try:
        _create(path, scaffold.pytest_config())
    except FileExistsError:
        return None
    return path
