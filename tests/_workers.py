"""``plughost run --workers 2`` in a real subprocess, and a client that finds every worker."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["WorkersServer", "free_port", "serve_workers"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class WorkersServer:
    """A running ``plughost run --workers N``: its URL, its log, and requests to it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        """GET on a new connection each time, so that the workers take turns."""
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(self.url + path, params=params) as resp:
                body = await resp.json(content_type=None)
                return resp.status, body

    async def until(
        self,
        path: str,
        done: Callable[[dict[int, Any]], bool],
        *,
        timeout: float = 30.0,
        **params: str,
    ) -> dict[int, Any]:
        """GET ``path`` until ``done`` holds for the last answer of each pid (``pid`` key)."""
        answers: dict[int, Any] = {}
        async with asyncio.timeout(timeout):
            while not done(answers):
                status, body = await self.get(path, **params)
                assert status == 200, (status, body)
                answers[int(body["pid"])] = body
        return answers

    async def pids(self, path: str, workers: int = 2) -> dict[int, Any]:
        """GET until ``workers`` different pids answered."""
        return await self.until(path, lambda seen: len(seen) >= workers)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@asynccontextmanager
async def serve_workers(
    config_path: Path,
    *args: str,
    workers: int = 2,
    port: int | None = None,
    python: str | Path = sys.executable,
) -> AsyncIterator[WorkersServer]:
    """Start ``plughost run --workers N`` for a project; stop it (SIGTERM) afterwards.

    ``python`` is the interpreter to run it with (another virtual environment's).
    """
    port = port or free_port()
    log = config_path.parent / "server.log"
    command = [
        str(python),
        "-m",
        "plughost",
        "--config",
        str(config_path),
        "run",
        "--workers",
        str(workers),
        "--port",
        str(port),
        *args,
    ]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = WorkersServer(process, port, log)
    try:
        async with asyncio.timeout(30):
            while "press Ctrl-C to stop" not in server.text():
                if process.poll() is not None:
                    raise AssertionError(f"the server exited:\n{server.text()}")
                await asyncio.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            raise AssertionError(f"the server did not stop on SIGTERM:\n{server.text()}") from None
    # A graceful stop: every worker and the coordinator exited, and so did the arbiter.
    assert code == 0, server.text()
    if workers > 1:
        assert "Shutting down: Master" in server.text()


async def run_cli(*args: str) -> tuple[int, str]:
    """``plughost ARGS`` in a subprocess: its exit code and its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "plughost",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode()


Probe = Callable[[], Awaitable[Any]]
