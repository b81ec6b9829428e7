"""Installing plughost never breaks someone else's pytest run.

plughost registers :mod:`plughost.testing` as a ``pytest11`` plugin, so it loads
in every pytest run of every project in the environment. These tests run pytest
in a fresh virtual environment that holds plughost, its dependencies and pytest,
and nothing else (no pytest-asyncio, no pytest-aiohttp).
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PLAIN_TEST = """
import sys

def test_plain():
    assert 1 + 1 == 2

def test_plughost_runtime_is_not_imported_by_the_plugin():
    assert "plughost.host" not in sys.modules
    assert "aiohttp" not in sys.modules
"""

CLIENT_TEST = """
async def test_uses_client(plughost_client):
    pass
"""


def _distributions(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The named distributions and everything they require (no extras)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        dist = importlib.metadata.distribution(name)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found[key] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding plughost, pytest and their requirements, linked from this one."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    site = Path(purelib)
    for dist in _distributions(["plughost", "pytest"]):
        for file in dist.files or ():
            if file.parts[0] == "..":  # scripts, outside site-packages
                continue
            source = Path(str(dist.locate_file(file)))
            target = site / file
            if source.exists() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(source, target)
    check = subprocess.run(
        [str(python), "-c", "import pytest_asyncio"], capture_output=True, text=True
    )
    assert check.returncode != 0, "the bare venv must not hold pytest-asyncio"
    return python


def _pytest(python: Path, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHON"))},
    )


def test_pytest_runs_without_pytest_asyncio(bare_python: Path, tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(textwrap.dedent(PLAIN_TEST))
    result = _pytest(bare_python, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "pytest_asyncio" not in result.stdout + result.stderr


def test_plughost_client_without_pytest_aiohttp_says_what_to_install(
    bare_python: Path, tmp_path: Path
) -> None:
    (tmp_path / "test_client.py").write_text(textwrap.dedent(CLIENT_TEST))
    result = _pytest(bare_python, tmp_path)
    assert result.returncode != 0
    assert "plughost_client fixture needs pytest-aiohttp" in result.stdout
    assert "ModuleNotFoundError" not in result.stdout + result.stderr
