"""``plughost run`` stops within ``[server] shutdown_timeout``, whatever is still running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from plughost.testing import Project, ProjectFactory

SLOW = """
import asyncio
import pathlib
import time

import plughost

HERE = pathlib.Path(__file__).parent

@plughost.route("/sync")
def sync_handler():
    (HERE / "sync-started").write_text("yes")
    time.sleep(300)
    return {"done": True}

@plughost.route("/async")
async def async_handler():
    (HERE / "async-started").write_text("yes")
    await asyncio.sleep(300)
    return {"done": True}

@plughost.route("/quick")
async def quick():
    return {"quick": True}

def setup(plugin):
    async def forever():
        await asyncio.sleep(300)

    plugin.tasks.start(forever)

def close():
    (HERE / "closed").write_text("yes")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(project: Project) -> subprocess.Popen[str]:
    """``plughost run`` on ``project`` in a subprocess, its output collected."""
    return subprocess.Popen(
        [sys.executable, "-m", "plughost", "--config", str(project.config_path), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_until_serving(server: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            assert time.monotonic() < deadline, "the server did not start"
            assert server.poll() is None, server.communicate()[0]
            time.sleep(0.1)


def _get(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=120).read()
    except OSError:
        pass  # cut off by the shutdown, as intended


def test_shutdown_is_bounded_with_sync_and_async_handlers_and_tasks_in_flight(
    plughost_project: ProjectFactory,
) -> None:
    port = _free_port()
    project = plughost_project(
        {"slow": SLOW},
        config=f"[server]\nport = {port}\nshutdown_timeout = 2\ntask_grace = 30\n",
    )
    server = _run(project)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(server, base + "/quick")
        deadline = time.monotonic() + 60
        clients = [threading.Thread(target=_get, args=(base + p,)) for p in ("/sync", "/async")]
        for client in clients:
            client.start()
        while not all((project.plugins_dir / f"{k}-started").exists() for k in ("sync", "async")):
            assert time.monotonic() < deadline, "the handlers did not start"
            time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        # Far below the 300 s the handlers and the task would take; generous for a busy machine.
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, output
    assert (project.plugins_dir / "closed").exists(), output
    assert "sync handler(s) still running after shutdown_timeout" in output
    assert "Traceback" not in output
    for client in clients:
        client.join(timeout=60)


NAPS = """
import time

import plughost


@plughost.route("/nap")
def nap():
    time.sleep(0.02)
    return {"rested": True}
"""


def test_idle_sync_threads_are_no_stuck_handlers_at_shutdown(
    plughost_project: ProjectFactory,
) -> None:
    port = _free_port()
    project = plughost_project({"naps": NAPS}, config=f"[server]\nport = {port}\n")
    server = _run(project)
    try:
        url = f"http://127.0.0.1:{port}/nap"
        _wait_until_serving(server, url)
        # Concurrent calls of a handler that sleeps leave several idle worker threads.
        clients = [threading.Thread(target=_get, args=(url,)) for _ in range(8)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=60)
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, output
    assert "still running after shutdown_timeout" not in output, output
