"""Plugins from packages in a real virtual environment, through real processes.

A fresh venv (layered on this environment, so plughost and pytest are there)
gets examples/package-plugin installed with ``pip install -e``; then ``plughost``
runs in it as a person runs it: listing, enabling, serving with ``--reload``
while the package's source is edited, and ``plughost new --package`` output
installed and tested.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _packaging import copy_example, make_venv, pip_install
from _workers import serve_workers

_LIST_AND_CHECK_IMPORTS = """
import json, sys
from plughost.cli.commands import cli
try:
    cli.main(sys.argv[1:], prog_name="plughost")
except SystemExit:
    pass
loaded = {m.split(".")[0] for m in sys.modules}
print(json.dumps(sorted(loaded & {"plughost_shout", "aiohttp", "watchfiles"})), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the venv's python, an editable copy of examples/package-plugin installed in it)."""
    root = tmp_path_factory.mktemp("venv")
    python = make_venv(root / "venv")
    source = copy_example(root / "plughost-shout")
    pip_install("--editable", str(source), python=python)
    return python, source


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGHOST_", "PYTEST_"))}
    env["NO_COLOR"] = "1"
    return env


def run(python: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=cwd,
        timeout=180,
        check=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def _wait_until(probe: Callable[[], tuple[int, Any]], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + 30
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if done(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting; last answer: {last!r}")


def test_listed_enabled_and_reloaded_in_a_venv(venv: tuple[Path, Path], tmp_path: Path) -> None:
    python, source = venv
    port = _free_port()
    config = tmp_path / "site" / "plughost.toml"
    config.parent.mkdir()
    config.write_text(f"[server]\nport = {port}\n", encoding="utf-8")
    (config.parent / "plugins").mkdir()

    listed = run(
        python, "-c", _LIST_AND_CHECK_IMPORTS, "--config", str(config), "plugins", "list", "--json"
    )
    assert listed.returncode == 0, listed.stderr
    # Listed, not imported; and listing still starts no server code.
    assert json.loads(listed.stderr.splitlines()[-1]) == []
    row = next(row for row in json.loads(listed.stdout)["plugins"] if row["name"] == "shout")
    assert row["enabled"] is False
    assert row["source"]["distribution"] == "plughost-shout"
    assert row["source"]["editable"] is True
    assert row["source"]["path"] == str(source / "src" / "plughost_shout" / "__init__.py")

    enabled = run(python, "-m", "plughost", "--config", str(config), "plugins", "enable", "shout")
    assert enabled.returncode == 0, enabled.stderr

    words = source / "src" / "plughost_shout" / "words.py"
    original = words.read_text(encoding="utf-8")
    log_path = tmp_path / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        server = subprocess.Popen(
            [str(python), "-m", "plughost", "--config", str(config), "run", "--reload"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_environment(),
        )
        try:
            url = f"http://127.0.0.1:{port}/shout?text=hi"
            first = _wait_until(lambda: _get(url), lambda answer: answer[0] == 200)
            assert first == (200, {"shout": "HI!"})
            _wait_until(lambda: (0, log_path.read_text()), lambda answer: "watching" in answer[1])
            words.write_text(original.replace("+ suffix", "+ suffix * 3"), encoding="utf-8")
            edited = _wait_until(lambda: _get(url), lambda answer: answer != first)
            assert edited == (200, {"shout": "HI!!!"})
            assert "reloaded shout" in log_path.read_text()
            assert "shout (plughost-shout 1.0.0, editable)" in log_path.read_text()
        finally:
            words.write_text(original, encoding="utf-8")
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)


async def test_an_edit_reaches_every_worker_with_reload_on(
    venv: tuple[Path, Path], tmp_path: Path
) -> None:
    python, source = venv
    config = tmp_path / "plughost.toml"
    config.write_text("[plugins.shout]\nenabled = true\n", encoding="utf-8")
    (tmp_path / "plugins").mkdir()
    words = source / "src" / "plughost_shout" / "words.py"
    original = words.read_text(encoding="utf-8")
    try:
        async with serve_workers(config, "--reload", python=python) as server:
            assert await server.get("/shout", text="hi") == (200, {"shout": "HI!"})
            async with asyncio.timeout(30):
                while "watching" not in server.text():
                    await asyncio.sleep(0.1)
            words.write_text(original.replace("+ suffix", "+ suffix * 2"), encoding="utf-8")
            async with asyncio.timeout(30):
                while await server.get("/shout", text="hi") != (200, {"shout": "HI!!"}):
                    await asyncio.sleep(0.05)
            # One transaction for all workers: from now on, every answer is the new one.
            for _ in range(20):
                assert await server.get("/shout", text="hi") == (200, {"shout": "HI!!"})
        assert "reloaded shout" in server.text()
    finally:
        words.write_text(original, encoding="utf-8")


def test_the_example_packages_own_tests_pass_in_the_venv(venv: tuple[Path, Path]) -> None:
    python, source = venv
    tested = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=source)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout


def test_new_package_output_installs_and_its_test_passes(
    venv: tuple[Path, Path], tmp_path: Path
) -> None:
    python, _ = venv
    projects = []
    for kind in ("endpoint", "hooks", "wrapper"):
        name = f"made_{kind}"
        made = run(python, "-m", "plughost", "new", name, "--package", "--kind", kind, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert f"pip install -e ./plughost-{name}" in made.stdout
        project = tmp_path / f"plughost-{name}"
        assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == [
            "README.md",
            "pyproject.toml",
            f"src/plughost_{name}/__init__.py",
            f"tests/test_{name}.py",
        ]
        projects.append(project)
    pip_install(*(f"--editable={project}" for project in projects), python=python)
    # One pytest run over the three projects, as each would run its own.
    tested = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, projects))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout

    config = tmp_path / "plughost.toml"
    config.write_text("", encoding="utf-8")
    listed = run(python, "-m", "plughost", "--config", str(config), "plugins", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    for kind in ("endpoint", "hooks", "wrapper"):
        source = rows[f"made_{kind}"]["source"]
        assert source["distribution"] == f"plughost-made_{kind}"
        assert source["editable"] is True
