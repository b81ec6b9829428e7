"""Bottle 0.13.4's own plugin tests (``test/test_plugins.py``), translated case by case.

Each test keeps its Bottle name and its plugins as Bottle wrote them: plain
``def`` wrappers that call the callback and use its result. What changes is
the host's API: ``app`` is a :class:`plughost.Host` served on loopback,
``app.route`` is ``host.route``, ``setup(app)`` receives the installing
plugin's handle, and a ``**args`` endpoint, which in plughost also receives
``request_headers``, leaves that input out of what it prints. The tests are
derived from Bottle's, Copyright (c) 2009-2024 Marcel Hellkamp, MIT licence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from _support import HostServer
from aiohttp.test_utils import TestClient
from bottle import HTTPResponse, json_dumps
from pytest_aiohttp import AiohttpClient

from plughost.handle import PluginHandle
from plughost.host import Host


class MyPlugin:
    def __init__(self) -> None:
        self.app: Any = None
        self.add_args: dict[str, Any] = {}
        self.add_content = ""

    def setup(self, app: Any) -> None:
        self.app = app

    def apply(self, func: Callable[..., Any], config: Any) -> Callable[..., Any]:
        def wrapper(*a: Any, **ka: Any) -> Any:
            ka.update(self.add_args)
            self.lastcall = func, a, ka
            return "".join(func(*a, **ka)) + self.add_content

        return wrapper


def my_decorator(func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*a: Any, **ka: Any) -> Any:  # pragma: no cover - never called, as in Bottle
        return list(func(*a, **ka))[-1]

    return wrapper


Body = Callable[[str], Awaitable[str]]


@pytest.fixture
async def app() -> AsyncIterator[Host]:
    host = Host()
    yield host
    await host.close()


@pytest.fixture
async def assert_body(app: Host, aiohttp_client: AiohttpClient) -> Callable[[str, str], Any]:
    client: TestClient[Any, Any] = await aiohttp_client(HostServer(app))

    async def check(expected: str, path: str) -> None:
        resp = await client.get(path)
        assert await resp.text() == expected

    return check


# -- TestPluginManagement ---------------------------------------------------


def test_install_plugin(app: Host) -> None:
    plugin = MyPlugin()
    installed = app.install(plugin)
    assert plugin is installed
    assert plugin in app.plugins


def test_install_decorator(app: Host) -> None:
    installed = app.install(my_decorator)
    assert my_decorator is installed
    assert my_decorator in app.plugins


def test_install_non_plugin(app: Host) -> None:
    with pytest.raises(TypeError):
        app.install("I am not a plugin")


def test_uninstall_by_instance(app: Host) -> None:
    plugin = app.install(MyPlugin())
    plugin2 = app.install(MyPlugin())
    app.uninstall(plugin)
    assert plugin not in app.plugins
    assert plugin2 in app.plugins


def test_uninstall_by_type(app: Host) -> None:
    plugin = app.install(MyPlugin())
    plugin2 = app.install(MyPlugin())
    app.uninstall(MyPlugin)
    assert plugin not in app.plugins
    assert plugin2 not in app.plugins


def test_uninstall_by_name(app: Host) -> None:
    plugin = app.install(MyPlugin())
    plugin2 = app.install(MyPlugin())
    plugin.name = "myplugin"
    app.uninstall("myplugin")
    assert plugin not in app.plugins
    assert plugin2 in app.plugins


def test_uninstall_all(app: Host) -> None:
    app.install(MyPlugin())
    app.install(MyPlugin())
    app.uninstall(True)
    assert not app.plugins


async def test_route_plugin(app: Host, assert_body: Callable[[str, str], Any]) -> None:
    plugin = MyPlugin()
    plugin.add_content = ";foo"

    @app.route("/a")
    @app.route("/b", apply=[plugin])
    def a() -> str:
        return "plugin"

    await assert_body("plugin", "/a")
    await assert_body("plugin;foo", "/b")


async def test_plugin_oder(app: Host, assert_body: Callable[[str, str], Any]) -> None:
    app.install(MyPlugin()).add_content = ";global-1"
    app.install(MyPlugin()).add_content = ";global-2"
    l1 = MyPlugin()
    l1.add_content = ";local-1"
    l2 = MyPlugin()
    l2.add_content = ";local-2"

    @app.route("/a")
    @app.route("/b", apply=[l1, l2])
    def a() -> str:
        return "plugin"

    await assert_body("plugin;global-2;global-1", "/a")
    await assert_body("plugin;local-2;local-1;global-2;global-1", "/b")


async def test_skip_by_instance(app: Host, assert_body: Callable[[str, str], Any]) -> None:
    g1 = app.install(MyPlugin())
    g1.add_content = ";global-1"
    g2 = app.install(MyPlugin())
    g2.add_content = ";global-2"
    l1 = MyPlugin()
    l1.add_content = ";local-1"
    l2 = MyPlugin()
    l2.add_content = ";local-2"

    @app.route("/a", skip=[g2, l2])
    @app.route("/b", apply=[l1, l2], skip=[g2, l2])
    def a() -> str:
        return "plugin"

    await assert_body("plugin;global-1", "/a")
    await assert_body("plugin;local-1;global-1", "/b")


async def test_skip_by_class(app: Host, assert_body: Callable[[str, str], Any]) -> None:
    g1 = app.install(MyPlugin())
    g1.add_content = ";global-1"

    @app.route("/a")
    @app.route("/b", skip=[MyPlugin])
    def a() -> str:
        return "plugin"

    await assert_body("plugin;global-1", "/a")
    await assert_body("plugin", "/b")


async def test_skip_by_name(app: Host, assert_body: Callable[[str, str], Any]) -> None:
    g1 = app.install(MyPlugin())
    g1.add_content = ";global-1"
    g1.name = "test"

    @app.route("/a")
    @app.route("/b", skip=["test"])
    def a() -> str:
        return "plugin"

    await assert_body("plugin;global-1", "/a")
    await assert_body("plugin", "/b")


async def test_skip_all(app: Host, assert_body: Callable[[str, str], Any]) -> None:
    g1 = app.install(MyPlugin())
    g1.add_content = ";global-1"

    @app.route("/a")
    @app.route("/b", skip=[True])
    def a() -> str:
        return "plugin"

    await assert_body("plugin;global-1", "/a")
    await assert_body("plugin", "/b")


async def test_skip_nonlist(app: Host, assert_body: Callable[[str, str], Any]) -> None:
    g1 = app.install(MyPlugin())
    g1.add_content = ";global-1"

    @app.route("/a")
    @app.route("/b", skip=g1)
    def a() -> str:
        return "plugin"

    await assert_body("plugin;global-1", "/a")
    await assert_body("plugin", "/b")


async def test_json_plugin_catches_httpresponse(app: Host, aiohttp_client: AiohttpClient) -> None:
    @app.route("/return")
    def _return() -> HTTPResponse:
        return HTTPResponse({"test": "ko"}, 402)

    @app.route("/raise")
    def _raise() -> HTTPResponse:
        raise HTTPResponse({"test": "ko2"}, 402)

    client: TestClient[Any, Any] = await aiohttp_client(HostServer(app))
    for path, expected in (("/return", {"test": "ko"}), ("/raise", {"test": "ko2"})):
        resp = await client.get(path)
        assert await resp.text() == json_dumps(expected)
        assert resp.status == 402
        assert resp.content_type == "application/json"


# -- TestPluginAPI ------------------------------------------------------------


@pytest.fixture
def api_app(app: Host) -> Host:
    """TestPluginAPI.setUp: one route with route config ``test='plugin.cfg'``."""

    @app.route("/", test="plugin.cfg")
    def test(**args: Any) -> str:
        shown = {k: v for k, v in args.items() if k != "request_headers"}
        return ", ".join(f"{k}:{v}" for k, v in shown.items())

    return app


async def test_callable(api_app: Host, assert_body: Callable[[str, str], Any]) -> None:
    def plugin(func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **ka: Any) -> Any:
            return func(*a, test="me", **ka) + "; tail"

        return wrapper

    api_app.install(plugin)
    await assert_body("test:me; tail", "/")


async def test_apply(api_app: Host, assert_body: Callable[[str, str], Any]) -> None:
    class Plugin:
        def apply(self, func: Callable[..., Any], route: Any) -> Callable[..., Any]:
            def wrapper(*a: Any, **ka: Any) -> Any:
                return func(*a, test=route.config["test"], **ka) + "; tail"

            return wrapper

        def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
            raise AssertionError("Plugins must not be called if they implement 'apply'")

    api_app.install(Plugin())
    await assert_body("test:plugin.cfg; tail", "/")


async def test_instance_method_wrapper(app: Host, assert_body: Callable[[str, str], Any]) -> None:
    # Bottle calls a route's callback with the URL's wildcards only; a plughost
    # `**args` endpoint would also receive request_headers, which b() does not take.
    @app.route("/", test="plugin.cfg")
    def test(test: str = "") -> str:  # pragma: no cover - the wrapper replaces it
        return test

    class Plugin:
        api = 2

        def apply(self, callback: Callable[..., Any], route: Any) -> Callable[..., Any]:
            return self.b

        def b(self) -> str:
            return "Hello"

    app.install(Plugin())
    await assert_body("Hello", "/")


def test_setup(app: Host) -> None:
    class Plugin:
        def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
            return func

        def setup(self, app: Any) -> None:
            self.app = app

    plugin = app.install(Plugin())
    # setup() receives the installing plugin's handle, whose host is the app.
    assert isinstance(plugin.app, PluginHandle)
    assert plugin.app.host is app


async def test_close(app: Host) -> None:
    class Plugin:
        def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
            return func

        def close(self) -> None:
            self.closed = True

    plugin = app.install(Plugin())
    plugin2 = app.install(Plugin())
    app.uninstall(plugin)
    assert getattr(plugin, "closed", False)
    await app.close()
    assert getattr(plugin2, "closed", False)
