"""Helpers shared by plughost's functional tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import BaseTestServer, TestClient
from aiohttp.web_runner import ServerRunner

from plughost.host import Host, LoadResult
from plughost.request.routes import Route
from plughost.server import build_server
from plughost.testing import host_of, wait_for_load

__all__ = ["HostServer", "edit_and_wait", "host_of", "poll", "route_of"]

_T = TypeVar("_T")


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
