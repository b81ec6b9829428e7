"""Helpers shared by plughost's functional tests."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from aiohttp.test_utils import BaseTestServer, TestClient
from aiohttp.web_runner import ServerRunner

from plughost.host import Host, LoadResult
from plughost.request.routes import Route
from plughost.server import build_server
from plughost.testing import host_of, wait_for_load

__all__ = ["HostServer", "edit_and_wait", "host_of", "poll", "route_of", "run_in_terminal"]

_T = TypeVar("_T")

#: what :func:`run_in_terminal` runs by default: the ``plughost`` command
_CLI: Final = "from plughost.cli.commands import main; main()"


def route_of(client: TestClient[Any, Any], rule: str, method: str = "GET") -> Route:
    """The live route for ``method rule``."""
    for item in host_of(client).routes:
        if item.rule == rule and item.method == method:
            return item
    raise AssertionError(f"no route {method} {rule}")


class HostServer(BaseTestServer):
    """Serves a hand-built Host on loopback, the way plughost.testing does."""

    def __init__(self, host: Host) -> None:
        self._plughost = host
        super().__init__(host="127.0.0.1")

    async def _make_runner(self, **kwargs: Any) -> ServerRunner:
        return ServerRunner(build_server(self._plughost, **kwargs), **kwargs)


async def poll(
    probe: Callable[[], Awaitable[_T]],
    done: Callable[[_T], bool],
    *,
    timeout: float = 10.0,
    step: float = 0.02,
) -> _T:
    """Call ``probe`` until ``done(result)``; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            result = await probe()
            if done(result):
                return result
            await asyncio.sleep(step)


async def edit_and_wait(
    client: TestClient[Any, Any], path: Path, text: str, name: str, *, ok: bool | None = True
) -> LoadResult:
    """Write ``text`` to ``path`` and wait for the reload of plugin ``name`` it causes."""
    waiter = asyncio.create_task(wait_for_load(host_of(client), name, ok=ok))
    await asyncio.sleep(0)
    path.write_text(text)
    return await waiter


def run_in_terminal(args: list[str], env: dict[str, str], code: str = _CLI) -> bytes:
    """Run ``python -c code ARGS...`` on a pseudo-terminal, 120 columns wide; return
    what it printed."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        close_fds=True,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks)
