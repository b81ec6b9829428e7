"""pytest fixtures for people who write plughost plugins (a ``pytest11`` plugin).

``plughost_project`` writes a project (config and plugin files) into a
temporary folder; ``plughost_client`` serves a project on a real loopback
server and returns an aiohttp test client for it::

    async def test_hello(plughost_client):
        client = await plughost_client(Path(__file__).parents[1] / "plughost.toml")
        resp = await client.get("/hello")
        assert resp.status == 200

plughost's runtime is imported inside the fixtures, and this module imports
nothing but pytest and the standard library, so loading it as a pytest plugin
never fails and costs nothing until a test uses the fixtures (coverage sees
every line of plughost that runs). ``plughost_client`` lives in
:mod:`plughost.testing_client`, registered at ``pytest_configure`` only when
pytest-aiohttp is installed; without it, a test asking for the fixture fails
with a message saying what to install.
"""

from __future__ import annotations

import asyncio
import importlib.util
import textwrap
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from aiohttp.test_utils import TestClient

    from .host import Host, LoadResult
    from .reload.watch import Reloader

__all__ = [
    "ClientFactory",
    "Project",
    "ProjectFactory",
    "host_of",
    "plughost_project",
    "pytest_configure",
    "reloader_of",
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
#: what ``plughost_client`` needs besides plughost and pytest
_CLIENT_NEEDS: Final = ("pytest_aiohttp", "pytest_asyncio")


class _NoClient:
    """Stands in for ``plughost_client`` when pytest-aiohttp is not installed."""

    @pytest.fixture
    def plughost_client(self) -> None:
        pytest.fail(
            "the plughost_client fixture needs pytest-aiohttp: pip install pytest-aiohttp",
            pytrace=False,
        )


def pytest_configure(config: pytest.Config) -> None:
    """Register ``plughost_client``, or a stand-in that says what it needs."""
    if all(importlib.util.find_spec(name) is not None for name in _CLIENT_NEEDS):
        config.pluginmanager.import_plugin("plughost.testing_client")
    else:
        config.pluginmanager.register(_NoClient(), "plughost.testing_client")


def host_of(client: TestClient[Any, Any]) -> Host:
    """The running :class:`~plughost.host.Host` behind a ``plughost_client`` client."""
    host: Host = getattr(client, "plughost")  # noqa: B009 - set by plughost_client
    return host


def reloader_of(client: TestClient[Any, Any]) -> Reloader:
    """The file watcher of a ``plughost_client(..., reload=True)`` client."""
    reloader: Reloader | None = getattr(client, "reloader")  # noqa: B009 - set by plughost_client
    if reloader is None:
        raise LookupError("this client was opened without reload=True")
    return reloader


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
