"""Templates for ``plughost init`` and ``plughost new``.

Example::

    >>> plugin, test = render("endpoint", "hello")
    >>> 'route_path = "hello"' in plugin
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from string import Template
from typing import Any, Final, Literal, NamedTuple, get_args

__all__ = [
    "EXAMPLE_PARAMS",
    "KINDS",
    "Kind",
    "Scaffold",
    "class_name",
    "init_config",
    "pytest_config",
    "render",
    "render_package",
]

Kind = Literal["endpoint", "hooks", "wrapper"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)

#: the ``[plugins.NAME.params]`` written for a new plugin: each template's
#: declared ``Params`` with its defaults
EXAMPLE_PARAMS: Final[Mapping[str, Mapping[str, Any]]] = {
    "endpoint": {"greeting": "Hello"},
    "hooks": {"header": "X-Elapsed-Ms"},
    "wrapper": {"slow_ms": 500.0},
}

_TAKEN: Final = frozenset({"BasePlugin", "Params", "dataclass", "Path", "Any"})


class Scaffold(NamedTuple):
    """The sources ``plughost new`` writes."""

    plugin: str
    test: str


def _template(name: str) -> Template:
    return Template(files(__name__).joinpath(name).read_text(encoding="utf-8"))


def class_name(name: str) -> str:
    """``my_blog`` -> ``MyBlog``, avoiding the names the templates import."""
    result = "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
    return result + "Plugin" if result in _TAKEN else result


def render(kind: str, name: str, *, config_name: str = "plughost.toml") -> Scaffold:
    """The plugin module and its test for a new plugin of ``kind`` called ``name``.

    ``name`` must already be a valid plugin name; the plugin answers at ``/name``.

    Raises:
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown plugin kind {kind!r} (expected one of {', '.join(KINDS)})")
    values = {
        "name": name,
        "route": name,
        "class_name": class_name(name),
        "config_name": config_name,
    }
    return Scaffold(
        plugin=_template(f"{kind}.py.tmpl").substitute(values),
        test=_template(f"test_{kind}.py.tmpl").substitute(values),
    )


#: what the project test templates say to serve the project they sit in
_PROJECT_TEST_HEAD: Final = (
    "from pathlib import Path\n\n"
    'CONFIG = Path(__file__).resolve().parents[1] / "$config_name"\n\n\n'
)


def render_package(kind: str, name: str, *, plughost_version: str) -> dict[str, str]:
    """The files of a distributable plugin project, by path relative to its folder.

    The plugin module is the one ``render`` writes; its test serves a project
    that enables the installed plugin, with the same assertions.

    Example::

        >>> files = render_package("endpoint", "hello", plughost_version="0.1.0")
        >>> sorted(files)  # doctest: +NORMALIZE_WHITESPACE
        ['README.md', 'pyproject.toml', 'src/plughost_hello/__init__.py',
         'tests/test_hello.py']
    """
    plugin = render(kind, name)
    module = f"plughost_{name}"
    major, minor = (int(part) for part in plughost_version.split(".")[:2])
    values = {
        "name": name,
        "route": name,
        "module": module,
        "distribution": f"plughost-{name}",
        "plughost_minor": f"{major}.{minor}",
        "plughost_next": f"{major}.{minor + 1}" if major == 0 else f"{major + 1}",
    }
    test = _template(f"test_{kind}.py.tmpl").template
    for old, new in (
        (_PROJECT_TEST_HEAD, "\n"),
        ("(plughost_client):", "(plughost_project, plughost_client):"),
        ("plughost_client(CONFIG)", 'plughost_client(plughost_project(enabled=["$name"]))'),
    ):
        if old not in test:
            raise ValueError(f"the test_{kind}.py template no longer says {old!r}")
        test = test.replace(old, new)
    return {
        "pyproject.toml": _template("package_pyproject.toml.tmpl").substitute(values),
        "README.md": _template("package_README.md.tmpl").substitute(values),
        f"src/{module}/__init__.py": plugin.plugin,
        f"tests/test_{name}.py": Template(test).substitute(values),
    }


def pytest_config() -> str:
    """The ``pytest.ini`` that ``plughost init`` writes for the generated tests."""
    return files(__name__).joinpath("pytest.ini.tmpl").read_text(encoding="utf-8")


def init_config() -> str:
    """The commented ``plughost.toml`` that ``plughost init`` writes."""
    return files(__name__).joinpath("plughost.toml.tmpl").read_text(encoding="utf-8")
