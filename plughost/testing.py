"""pytest fixtures for people who write plughost plugins (a ``pytest11`` plugin).

``plughost_project`` writes a project (config and plugin files) into a
temporary folder; ``plughost_client`` serves a project on a real loopback
server and returns an aiohttp test client for it::

    async def test_hello(plughost_client):
        client = await plughost_client(Path(__file__).parents[1] / "plughost.toml")
        resp = await client.get("/hello")
        assert resp.status == 200

plughost itself is imported inside the fixtures, so loading this module as a
pytest plugin costs nothing until a test uses them.
"""

from __future__ import annotations

import asyncio
import inspect
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from aiohttp.test_utils import TestClient

    from .host import Host, LoadResult

__all__ = [
    "ClientFactory",
    "Project",
    "ProjectFactory",
    "host_of",
    "plughost_client",
    "plughost_project",
    "wait_for_load",
]


@dataclass
class Project:
    """A plughost project on disk, for tests."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "plughost.toml"

    @property
    def plugins_dir(self) -> Path:
        return self.root / "plugins"

    def write_plugin(self, name: str, source: str) -> Path:
        """Write ``plugins/NAME.py`` (or a file inside a package: ``pkg/sub.py``)."""
        relative = name if name.endswith(".py") else f"{name}.py"
        path = self.plugins_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def write_config(self, text: str) -> Path:
        self.config_path.write_text(textwrap.dedent(text), encoding="utf-8")
        return self.config_path


def _render_config(
    enabled: Iterable[str],
    disabled: Iterable[str],
    params: Mapping[str, Mapping[str, Any]],
    extra: str,
) -> str:
    import tomlkit

    lines = [textwrap.dedent(extra).strip(), ""]
    for name, on in [*((n, True) for n in enabled), *((n, False) for n in disabled)]:
        lines.append(f"[plugins.{name}]")
        lines.append(f"enabled = {'true' if on else 'false'}")
        if name in params:
            lines.append(f"[plugins.{name}.params]")
            lines.append(tomlkit.dumps(dict(params[name])).strip())
        lines.append("")
    return "\n".join(lines)


ProjectFactory = Callable[..., Project]


@pytest.fixture
def plughost_project(tmp_path: Path) -> ProjectFactory:
    """A factory writing a project into ``tmp_path``.

    Call it with ``plugins={"name": source}``, ``enabled=[names]`` (default:
    every plugin given), ``disabled=[names]``, ``params={"name": {...}}`` and
    ``config="[server]\\ndebug = true"`` for extra TOML.
    """

    def make(
        plugins: Mapping[str, str] | None = None,
        *,
        enabled: Iterable[str] | None = None,
        disabled: Iterable[str] = (),
        params: Mapping[str, Mapping[str, Any]] | None = None,
        config: str = "",
        root: Path | None = None,
    ) -> Project:
        project = Project(root or tmp_path / "project")
        project.plugins_dir.mkdir(parents=True, exist_ok=True)
        for name, source in (plugins or {}).items():
            project.write_plugin(name, source)
        names = (
            list(enabled)
            if enabled is not None
            else [name.split("/")[0].removesuffix(".py") for name in (plugins or {})]
        )
        names = list(dict.fromkeys(names))
        project.write_config(_render_config(names, disabled, params or {}, config))
        return project

    return make


ClientFactory = Callable[..., Awaitable["TestClient[Any, Any]"]]


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
async def plughost_client(aiohttp_client: Any) -> AsyncIterator[ClientFactory]:
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

    async def make(target: Project | Path | str, *, reload: bool = False) -> TestClient[Any, Any]:
        path = target.config_path if isinstance(target, Project) else Path(target)
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
    for client in clients:
        await client.close()
    for item in reversed(opened):
        if hasattr(item, "stop"):
            await item.stop()
        else:
            await item.close()


def host_of(client: TestClient[Any, Any]) -> Host:
    """The running :class:`~plughost.host.Host` behind a ``plughost_client`` client."""
    host: Host = getattr(client, "plughost")  # noqa: B009 - set by plughost_client
    return host


async def wait_for_load(
    host: Host, name: str, *, timeout: float = 10.0, ok: bool | None = None
) -> LoadResult:
    """Wait for the next load result of plugin ``name`` (after an edit, with reload on)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[LoadResult] = loop.create_future()

    def listener(result: LoadResult) -> None:
        if result.name == name and (ok is None or result.ok == ok) and not future.done():
            future.set_result(result)

    host.listeners.append(listener)
    try:
        async with asyncio.timeout(timeout):
            return await future
    finally:
        host.listeners.remove(listener)
