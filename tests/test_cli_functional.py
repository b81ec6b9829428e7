"""The day-one flow through real processes: init, new, run, curl, the generated test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import plughost

REPOSITORY = Path(plughost.__file__).resolve().parents[1]


def environment() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "PLUGHOST_")) and key != "NO_COLOR"
    }
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{REPOSITORY}{os.pathsep}{path}" if path else str(REPOSITORY)
    return env


def plughost_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from plughost.cli.commands import main; main()", *args]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        plughost_command(*args),
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_json(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def wait_until_serving(url: str, server: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read() if server.stdout else ""
            pytest.fail(f"the server exited with {server.returncode}:\n{output}")
        try:
            get_json(url)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"nothing answered on {url} within {timeout} s")


def serve_and_list(server: subprocess.Popen[str], config: Path, port: int, cwd: Path) -> None:
    """Check the running server, then stop it with Ctrl-C."""
    try:
        url = f"http://127.0.0.1:{port}/hello"
        wait_until_serving(url, server)
        assert get_json(url) == (200, {"message": "Hello from hello"})

        listed = run("--config", str(config), "plugins", "list", "--json", cwd=cwd)
        assert listed.returncode == 0, listed.stderr
        data = json.loads(listed.stdout)
        assert data["server"] == {"url": f"http://127.0.0.1:{port}", "live": True, "workers": 1}
        (hello,) = data["plugins"]
        assert hello["status"] == "loaded"
        assert hello["live"]["state"] == "loaded"
        assert hello["live"]["version"] == 1
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


@pytest.mark.timeout(180)
def test_scaffold_enable_run_and_test(tmp_path: Path) -> None:
    site = tmp_path / "site"
    config = site / "plughost.toml"
    assert run("init", str(site), cwd=tmp_path).returncode == 0

    created = run("--config", str(config), "new", "hello", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "hello will answer on http://127.0.0.1:8080/hello" in created.stdout

    port = free_port()
    # A person edits the port by hand; the CLI's later edits keep that edit.
    config.write_text(config.read_text().replace("port = 8080", f"port = {port}"))
    for greeting in ("Hi", "Hello"):
        edited = run(
            "--config", str(config), "plugins", "set", "hello", f"greeting={greeting}", cwd=tmp_path
        )
        assert edited.returncode == 0, edited.stderr
    assert f"port = {port}" in config.read_text()

    with subprocess.Popen(
        plughost_command("--config", str(config), "run", "--port", str(port)),
        cwd=tmp_path,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as server:
        serve_and_list(server, config, port, tmp_path)
        output = server.stdout.read() if server.stdout else ""
    assert server.returncode == 0
    assert f"Live page: http://127.0.0.1:{port}/_plughost/" in output

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=site,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout


def test_run_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run("init", str(site), cwd=tmp_path).returncode == 0
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run(
            "--config", str(site / "plughost.toml"), "run", "--port", str(port), cwd=tmp_path
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
