"""The ``plughost_client`` fixture, registered by :mod:`plughost.testing` when it can work.

It needs pytest-aiohttp (and so pytest-asyncio); :mod:`plughost.testing`
registers this module only when both are installed, so that installing
plughost never breaks the pytest runs of a project without them.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from aiohttp.test_utils import TestClient

    from .host import Host

__all__ = ["plughost_client", "pytest_pycollect_makeitem"]

_Factory = Callable[..., Awaitable["TestClient[Any, Any]"]]


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Mark async tests that use ``plughost_client`` as asyncio tests.

    So the fixture works in pytest-asyncio's default strict mode too, not only
    with ``asyncio_mode = "auto"``. Collection itself is left to pytest.
    """
    if not inspect.iscoroutinefunction(obj) or not collector.funcnamefilter(name):  # type: ignore[attr-defined]
        return
    if "plughost_client" not in inspect.signature(obj).parameters:
        return
    marks = getattr(obj, "pytestmark", [])
    if not any(mark.name == "asyncio" for mark in marks):
        pytest.mark.asyncio(obj)


@pytest_asyncio.fixture
async def plughost_client(aiohttp_client: Any) -> AsyncIterator[_Factory]:
    """A factory serving a project on a real loopback server.

    ``await plughost_client(project_or_config_path, reload=False)`` returns an
    aiohttp ``TestClient``; its ``plughost`` attribute is the running
    :class:`~plughost.host.Host`, and with ``reload=True`` its ``reloader``
    watches the project for edits. Everything is closed after the test.
    """
    from aiohttp.test_utils import BaseTestServer
    from aiohttp.web_runner import ServerRunner

    from .config import load_config
    from .server import build_server, open_host

    opened: list[Any] = []
    clients: list[Any] = []

    class _Server(BaseTestServer):
        def __init__(self, host: Host, **kwargs: Any) -> None:
            self._plughost = host
            super().__init__(host="127.0.0.1", **kwargs)

        async def _make_runner(self, **kwargs: Any) -> ServerRunner:
            return ServerRunner(build_server(self._plughost, **kwargs), **kwargs)

    async def make(target: object, *, reload: bool = False) -> TestClient[Any, Any]:
        # A plughost.testing.Project, or the path of a config file.
        config_path = getattr(target, "config_path", None)
        path = Path(config_path if config_path is not None else target)  # type: ignore[arg-type]
        host = await open_host(load_config(path))
        opened.append(host)
        reloader = None
        if reload:
            from .reload.watch import Reloader

            reloader = Reloader(host, debounce=50, step=10)
            await reloader.start()
            opened.append(reloader)
        client = await aiohttp_client(_Server(host))
        clients.append(client)
        client.plughost = host
        client.reloader = reloader
        return client  # type: ignore[no-any-return]

    yield make
    for item in opened:
        if not hasattr(item, "stop"):
            await item.shutdown()
    for client in clients:
        await client.close()
    for item in reversed(opened):
        if hasattr(item, "stop"):
            await item.stop()
        else:
            await item.close()
