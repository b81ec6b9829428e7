"""The package's shape: no import cycles, and the CLI's fast paths import no server code."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _support import run_in_terminal

import plughost

PACKAGE = Path(plughost.__file__).parent


def _module_name(path: Path) -> tuple[str, list[str]]:
    """The dotted name of ``path`` and the package it sits in, as lists of parts."""
    parts = ["plughost", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def import_graph() -> dict[str, set[str]]:
    """Every plughost module and the plughost modules it imports, ``TYPE_CHECKING`` included.

    ``from . import name`` counts as an import of the submodule ``name`` when there is
    one, and of the package otherwise.
    """
    modules = {_module_name(path)[0]: path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = _module_name(path)[1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    edges.add(submodule if submodule in modules else target)
            elif isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for edge in sorted(graph[node]):
            if edge not in index:
                visit(edge)
                low[node] = min(low[node], low[edge])
            elif edge in stack:
                low[node] = min(low[node], index[edge])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_every_module() -> None:
    graph = import_graph()
    assert "plughost.request.entry" in graph
    assert "plughost.host" in graph["plughost.server"]
    # a TYPE_CHECKING import is an edge too
    assert "plughost.config" in graph["plughost.handle"]


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_a_cycle_would_be_found() -> None:
    graph = import_graph()
    graph["plughost.errors"] = graph["plughost.errors"] | {"plughost.host"}
    assert any("plughost.errors" in cycle for cycle in cycles(graph))


def test_layers() -> None:
    """The request path knows neither the CLI nor the reload machinery."""
    graph = import_graph()
    for name, edges in graph.items():
        if name.startswith("plughost.request."):
            outside = {e for e in edges if e.startswith(("plughost.cli", "plughost.reload"))}
            assert not outside, name


@pytest.mark.parametrize("args", [["--help"], ["plugins", "list"], ["plugins", "--help"]])
def test_fast_commands_import_no_server_code(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "plughost.toml").write_text("[server]\nport = 1\n", encoding="utf-8")
    (tmp_path / "plugins").mkdir()
    probe = (
        "import sys\n"
        "from plughost.cli.commands import cli\n"
        "try:\n"
        f"    cli.main({['--config', str(tmp_path / 'plughost.toml'), *args]!r})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'watchfiles'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.usefixtures("writes_bytecode")
def test_plugins_list_reads_a_warm_source_cache_without_the_source_reader(
    tmp_path: Path,
) -> None:
    """Once ``plugins/__pycache__`` holds what each plugin's source shows, ``plughost
    plugins list`` does not load the reader, ``plughost.cli.static``."""
    (tmp_path / "plughost.toml").write_text("[plugins.hello]\nenabled = true\n", encoding="utf-8")
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "hello.py").write_text(
        "from plughost import BasePlugin\n\n\nclass Hello(BasePlugin):\n    pass\n",
        encoding="utf-8",
    )
    probe = (
        "import sys\n"
        "from plughost.cli.commands import cli\n"
        "try:\n"
        f"    cli.main({['--config', str(tmp_path / 'plughost.toml'), 'plugins', 'list']!r})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print('plughost.cli.static' in sys.modules)\n"
    )
    for run in ("cold", "warm"):
        result = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
        )
        lines = result.stdout.strip().splitlines()
        assert "hello" in lines[-2] and "endpoint" in lines[-2]
        assert lines[-1] == str(run == "cold"), run


def test_a_table_on_a_terminal_loads_no_rich(tmp_path: Path) -> None:
    """Colour comes from click, which every command has loaded anyway."""
    (tmp_path / "plughost.toml").write_text("[plugins.hello]\nenabled = true\n", encoding="utf-8")
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "hello.py").write_text("def start_request(ctx): ...\n")
    probe = (
        "import sys\n"
        "from plughost.cli.commands import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print('rich loaded' if 'rich' in sys.modules else 'no rich')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    args = ["--config", str(tmp_path / "plughost.toml"), "plugins", "list"]
    output = run_in_terminal(args, env, code=probe).decode()
    assert "\x1b[" in output and "hello" in output  # a coloured table
    assert output.splitlines()[-1] == "no rich"


def test_the_architecture_page_names_every_module_of_both_paths() -> None:
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for folder in ("request", "reload"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            if path.name != "__init__.py":
                assert f"{folder}/{path.name}" in page, (
                    f"docs/architecture.md: {folder}/{path.name}"
                )


def test_serving_without_reload_imports_no_watcher() -> None:
    probe = (
        "import sys\n"
        "import plughost.server\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'watchfiles', 'gunicorn'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_serving_host_imports_neither_difflib_nor_zipfile(tmp_path: Path) -> None:
    """The live page's files are read when first asked for, and the hook-name typo check
    loads difflib only for a one-argument function that is no hook."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "hello.py").write_text(
        "import plughost\n\n\ndef make_greeting():\n    return 'hi'\n\n\n"
        "@plughost.route('/hello')\nasync def hello():\n    return make_greeting()\n",
        encoding="utf-8",
    )
    (tmp_path / "plughost.toml").write_text("[plugins.hello]\nenabled = true\n", encoding="utf-8")
    probe = (
        "import asyncio, sys\n"
        "from plughost.config import load_config\n"
        "from plughost.server import open_host\n"
        "async def main():\n"
        f"    host = await open_host(load_config({str(tmp_path / 'plughost.toml')!r}))\n"
        "    assert host.status()['hello'].state.value == 'loaded', host.status()\n"
        "    await host.close()\n"
        "asyncio.run(main())\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'difflib', 'zipfile'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
