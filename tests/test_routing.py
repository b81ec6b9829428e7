"""Routes and Bottle-style wrapper plugins, on a real loopback server.

Covers the Route contract (rule, method, callback, config, skip, route-local
``apply``, the cached ``call`` and ``reset``), the Host's install/uninstall/reset
API, dependency injection by signature, sync and async callbacks, path
parameters, 404/405 and route conflicts between plugins.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from _support import HostServer, host_of, route_of
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

import plughost
from plughost.host import Host
from plughost.request.routes import Route
from plughost.testing import ClientFactory, ProjectFactory

# A wrapper that records, in the JSON it returns, which wrappers ran and in
# which order. Plugins import it from a `_tagging.py` helper.
TAGGING = """
class Tagger:
    api = 2

    def __init__(self, name):
        self.name = name

    def apply(self, callback, route):
        name = self.name

        async def tagged(**kwargs):
            result = await callback(**kwargs)
            if isinstance(result, dict):
                result = {**result, "tags": [name, *result.get("tags", [])]}
            return result

        return tagged


class OtherTagger(Tagger):
    pass
"""

WRAPPERS = """
import plughost
from ._tagging import Tagger, OtherTagger

outer = Tagger("outer")
inner = OtherTagger("inner")


def setup(host):
    host.install(outer)
    host.install(inner)


@plughost.route("/plain")
async def plain():
    return {}


@plughost.route("/skip-instance", skip=[outer])
async def skip_instance():
    return {}


@plughost.route("/skip-name", skip=["inner"])
async def skip_name():
    return {}


@plughost.route("/skip-type", skip=[OtherTagger])
async def skip_type():
    return {}


@plughost.route("/skip-all", skip=True)
async def skip_all():
    return {}


@plughost.route("/local", apply=[Tagger("local")])
async def local():
    return {}


@plughost.route("/local-replaces", apply=[Tagger("outer")])
async def local_replaces():
    return {}
"""

OTHER_ROUTES = """
import plughost


@plughost.route("/other")
async def other():
    return {}
"""


async def _tags(client: TestClient[Any, Any], path: str) -> list[str]:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    return list(body.get("tags", []))


async def test_wrappers_apply_in_install_order_across_plugins(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project(
        {"_tagging": TAGGING, "wrappers": WRAPPERS, "other": OTHER_ROUTES},
        enabled=["wrappers", "other"],
    )
    client = await plughost_client(project)
    # The first installed wrapper is the outermost, as in Bottle.
    assert await _tags(client, "/plain") == ["outer", "inner"]
    # A wrapper installed by one plugin wraps every other plugin's routes too.
    assert await _tags(client, "/other") == ["outer", "inner"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/skip-instance", ["inner"]),
        ("/skip-name", ["outer"]),
        ("/skip-type", ["outer"]),
        ("/skip-all", []),
    ],
)
async def test_route_skips_wrappers(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    path: str,
    expected: list[str],
) -> None:
    project = plughost_project({"_tagging": TAGGING, "wrappers": WRAPPERS}, enabled=["wrappers"])
    client = await plughost_client(project)
    assert await _tags(client, path) == expected


async def test_route_local_apply_is_innermost_and_only_on_that_route(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"_tagging": TAGGING, "wrappers": WRAPPERS}, enabled=["wrappers"])
    client = await plughost_client(project)
    assert await _tags(client, "/local") == ["outer", "inner", "local"]
    assert await _tags(client, "/plain") == ["outer", "inner"]
    # A route-local wrapper with an installed wrapper's name replaces it (Bottle's
    # unique-name rule), so "outer" runs once, innermost.
    assert await _tags(client, "/local-replaces") == ["inner", "outer"]
    route = route_of(client, "/local")
    assert [getattr(p, "name", None) for p in route.all_plugins()] == ["local", "inner", "outer"]


ROUTE_CONFIG = """
import plughost


class Prefix:
    name = "prefix"
    api = 2

    def apply(self, callback, route):
        prefix = route.config.get("prefix")
        if prefix is None:
            return callback

        async def prefixed(**kwargs):
            return prefix["text"] + await callback(**kwargs)

        return prefixed


def setup(host):
    host.install(Prefix())


@plughost.route("/configured", prefix={"text": ">> "})
async def configured():
    return "hello"


@plughost.route("/unconfigured")
async def unconfigured():
    return "hello"
"""


async def test_route_config_reaches_wrappers(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"cfg": ROUTE_CONFIG}))
    resp = await client.get("/configured")
    assert await resp.text() == ">> hello"
    resp = await client.get("/unconfigured")
    assert await resp.text() == "hello"
    assert route_of(client, "/configured").config == {"prefix": {"text": ">> "}}


def test_route_config_has_bottles_dotted_keys_and_nested_access() -> None:
    async def endpoint() -> None:  # pragma: no cover - never called
        return None

    config = Route(
        "/x", "GET", endpoint, config={"schemas": {"body": "B", "query": {"q": "Q"}}, "n": 1}
    ).config
    # Bottle flattens nested dicts into dotted keys; its plugins iterate them.
    assert list(config) == ["schemas.body", "schemas.query.q", "n"]
    assert config["schemas.body"] == "B"
    assert config["schemas.query.q"] == "Q"
    # plughost's wrappers and hooks read the nested value.
    assert config["schemas"] == {"body": "B", "query": {"q": "Q"}}
    assert config["schemas.query"] == {"q": "Q"}
    assert "schemas" in config and "schemas.body" in config and "nope" not in config
    assert config.get("schemas.nope") is None
    assert config == {"schemas.body": "B", "schemas.query.q": "Q", "n": 1}


# An SQLitePlugin-style injector: it refuses a second install with the same
# keyword in setup(), and wraps only callbacks that declare the keyword.
INJECTOR = """
import inspect

import plughost


class Injector:
    api = 2

    def __init__(self, keyword, value, name="inject"):
        self.keyword = keyword
        self.value = value
        self.name = name
        self.applied = []

    def setup(self, host):
        for other in host.plugins:
            if other is not self and getattr(other, "keyword", None) == self.keyword:
                raise plughost.PluginError(
                    f"another plugin already injects {self.keyword!r}"
                )

    def apply(self, callback, route):
        self.applied.append(route.rule)
        if self.keyword not in inspect.signature(route.callback).parameters:
            return callback
        value = route.config.get(self.name, {}).get("value", self.value)

        async def injected(**kwargs):
            kwargs[self.keyword] = value
            return await callback(**kwargs)

        return injected
"""

DB_PLUGIN = """
import plughost
from ._injector import Injector


def setup(host):
    host.install(Injector("db", "main.db"))


@plughost.route("/with-db")
async def with_db(db):
    return {"db": db}


@plughost.route("/sync-with-db")
def sync_with_db(db, name="x"):
    return {"db": db, "name": name}


@plughost.route("/other-db", inject={"value": "other.db"})
async def other_db(db):
    return {"db": db}


@plughost.route("/without-db")
async def without_db():
    return {"db": None}


@plughost.route("/skips-db", skip=["inject"])
async def skips_db(db):
    return {"db": db}
"""

SECOND_DB = """
from ._injector import Injector


def setup(host):
    host.install(Injector("db", "second.db", name="inject2"))
"""


async def test_injector_wraps_only_callbacks_that_declare_the_keyword(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"_injector": INJECTOR, "dbs": DB_PLUGIN}, enabled=["dbs"])
    client = await plughost_client(project)
    resp = await client.get("/with-db")
    assert await resp.json() == {"db": "main.db"}
    resp = await client.get("/sync-with-db", params={"name": "y"})
    assert await resp.json() == {"db": "main.db", "name": "y"}
    resp = await client.get("/other-db")
    assert await resp.json() == {"db": "other.db"}
    resp = await client.get("/without-db")
    assert await resp.json() == {"db": None}
    # The injector does not wrap a route whose callback has no `db`: that route
    # runs the callback itself, with no wrapper in between.
    without = route_of(client, "/without-db")
    assert without.call is without.callback
    # Skipped, nobody supplies the required `db`: a 400 that names it.
    resp = await client.get("/skips-db")
    assert resp.status == 400
    assert "'db'" in (await resp.json())["error"]


async def test_setup_refuses_a_conflicting_install(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project(
        {"_injector": INJECTOR, "dbs": DB_PLUGIN, "second": SECOND_DB}, enabled=["dbs", "second"]
    )
    client = await plughost_client(project)
    status = host_of(client).status()
    assert status["dbs"].state == "loaded"
    assert status["second"].state == "error"
    assert "already injects 'db'" in (status["second"].error or "")
    # The refused plugin left nothing behind: one injector, and it still serves.
    assert [type(p).__name__ for p in host_of(client).plugins] == ["Injector"]
    resp = await client.get("/with-db")
    assert await resp.json() == {"db": "main.db"}
    # The same refusal through the Host API.
    injector_class: Any = type(host_of(client).plugins[0])
    with pytest.raises(plughost.PluginError, match="already injects 'db'"):
        host_of(client).install(injector_class("db", "third.db", name="inject3"))
    assert len(host_of(client).plugins) == 1


class CountingWrapper:
    """Counts apply() calls per route rule; wraps nothing."""

    api = 2

    def __init__(self, name: str = "counting") -> None:
        self.name = name
        self.applied: list[str] = []
        self.closed = 0

    def apply(self, callback: Callable[..., Any], route: Route) -> Callable[..., Any]:
        self.applied.append(route.rule)
        return callback

    def close(self) -> None:
        self.closed += 1


class Suffix:
    """Appends its name to a text result."""

    api = 2

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = 0

    def apply(self, callback: Callable[..., Any], route: Route) -> Callable[..., Any]:
        async def suffixed(**kwargs: Any) -> Any:
            return f"{await callback(**kwargs)}+{self.name}"

        return suffixed

    def close(self) -> None:
        self.closed += 1


TEXT_ROUTES = """
import plughost


@plughost.route("/a")
async def a():
    return "a"


@plughost.route("/b")
def b():
    return "b"
"""


async def test_apply_runs_once_per_route_until_reset(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"text": TEXT_ROUTES}))
    host = host_of(client)
    counting = host.install(CountingWrapper())
    for _ in range(3):
        assert (await client.get("/a")).status == 200
    assert counting.applied == ["/a"]
    assert (await client.get("/b")).status == 200
    assert counting.applied == ["/a", "/b"]
    for _ in range(2):
        await client.get("/a")
        await client.get("/b")
    assert counting.applied == ["/a", "/b"]

    route_of(client, "/a").reset()
    await client.get("/a")
    await client.get("/b")
    assert counting.applied == ["/a", "/b", "/a"]

    host.reset()
    await client.get("/a")
    await client.get("/b")
    assert sorted(counting.applied[3:]) == ["/a", "/b"]

    host.reset(route_of(client, "/b"))
    await client.get("/a")
    await client.get("/b")
    assert counting.applied[5:] == ["/b"]


COUNTER = """
import plughost

applied = []


class Counter:
    name = "counter"
    api = 2

    def apply(self, callback, route):
        applied.append(route.rule)
        return callback


def setup(host):
    host.install(Counter())


@plughost.route("/applied")
async def show():
    return applied
"""


async def test_a_load_checks_only_the_routes_it_brings_against_unchanged_wrappers(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    # Loading checks that every wrapper applies to every new route; a reload of an
    # endpoint plugin must not apply the wrappers to every other plugin's routes again.
    client = await plughost_client(
        plughost_project(
            {"counter": COUNTER, "text": TEXT_ROUTES, "other": OTHER_ROUTES},
            enabled=["counter", "text", "other"],
        )
    )
    host = host_of(client)
    first = list(await (await client.get("/applied")).json())
    assert set(first) == {r.rule for r in host.routes if r.plugin}
    result = await host.load("text")
    assert result.ok
    after = list(await (await client.get("/applied")).json())
    text_rules = sorted(r.rule for r in host.routes if r.plugin == "text")
    assert sorted(after[len(first) :]) == text_rules


async def test_install_and_uninstall_at_runtime(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"text": TEXT_ROUTES}))
    host = host_of(client)
    assert await (await client.get("/a")).text() == "a"

    first = host.install(Suffix("one"))
    second = host.install(Suffix("two"))
    assert host.plugins == [first, second]
    # Installing reset the cached chains: the next request is wrapped.
    assert await (await client.get("/a")).text() == "a+two+one"
    assert await (await client.get("/b")).text() == "b+two+one"

    assert host.uninstall("two") == [second]
    assert second.closed == 1
    assert await (await client.get("/a")).text() == "a+one"

    assert host.uninstall(Suffix) == [first]
    assert await (await client.get("/a")).text() == "a"
    assert host.plugins == []

    third = host.install(Suffix("three"))
    assert host.uninstall(third) == [third]
    fourth = host.install(Suffix("four"))
    fifth = host.install(Suffix("five"))
    assert host.uninstall(True) == [fourth, fifth]
    assert await (await client.get("/b")).text() == "b"
    assert host.uninstall("nothing-by-this-name") == []

    await host.close()
    await host.close()
    # close() ran exactly once per wrapper: on uninstall, never again at close.
    assert [w.closed for w in (first, second, third, fourth, fifth)] == [1, 1, 1, 1, 1]


async def test_host_close_closes_installed_wrappers_once(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"text": TEXT_ROUTES}))
    host = host_of(client)
    wrapper = host.install(Suffix("kept"))
    await host.close()
    await host.close()
    assert wrapper.closed == 1


async def test_wrapper_that_changes_nothing_costs_nothing(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"text": TEXT_ROUTES}))
    host = host_of(client)
    for index in range(5):
        host.install(CountingWrapper(f"noop{index}"))
    assert await (await client.get("/a")).text() == "a"
    # The chain is the callback itself: no per-request layer was added.
    route = route_of(client, "/a")
    assert route.call is route.callback


async def test_callable_wrapper_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"text": TEXT_ROUTES}))
    host = host_of(client)

    def shout(callback: Callable[..., Any]) -> Callable[..., Any]:
        async def shouted(**kwargs: Any) -> Any:
            return str(await callback(**kwargs)).upper()

        return shouted

    host.install(shout)
    assert await (await client.get("/a")).text() == "A"
    assert host.uninstall(shout) == [shout]
    assert await (await client.get("/a")).text() == "a"


async def test_wrapper_returning_no_callable_is_a_clear_500(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await plughost_client(plughost_project({"text": TEXT_ROUTES}))
    host = host_of(client)

    class Broken:
        name = "broken-wrapper"

        def apply(self, callback: Callable[..., Any], route: Route) -> object:
            return None

    host.install(Broken())
    resp = await client.get("/a")
    assert resp.status == 500
    assert "wrapper 'broken-wrapper' cannot wrap GET /a of plugin 'text'" in caplog.text
    assert "not a callable" in caplog.text


async def test_install_refuses_what_is_not_a_wrapper(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"text": TEXT_ROUTES}))
    host = host_of(client)
    with pytest.raises(plughost.PluginError, match="not a wrapper plugin"):
        host.install(42)
    # Bottle raises TypeError for the same mistake; plughost's error is one too.
    with pytest.raises(TypeError, match="not a wrapper plugin"):
        host.install("I am not a plugin")
    with pytest.raises(plughost.PluginError, match="install an instance"):
        host.install(CountingWrapper)

    class OldApi(CountingWrapper):
        api = 1

    with pytest.raises(plughost.PluginError, match="api = 1"):
        host.install(OldApi())
    assert host.plugins == []


# -- callbacks, inputs and outputs ----------------------------------------

CALLBACKS = """
import threading

from aiohttp import web

import plughost

released = threading.Event()


@plughost.route("/async")
async def async_callback():
    return {"kind": "async"}


@plughost.route("/blocking")
def blocking():
    # Blocks its thread until another request releases it: this only returns
    # if sync callbacks run off the event loop.
    return {"released": released.wait(10)}


@plughost.route("/release")
async def release():
    released.set()
    return {"ok": True}


@plughost.route("/items/{id}")
async def item(id, verbose="no"):
    return {"id": id, "verbose": verbose}


@plughost.route("/numbers/{n:[0-9]+}")
def number(n):
    return {"n": int(n)}


@plughost.route("/everything/{part}")
async def everything(**kwargs):
    return {k: v for k, v in kwargs.items() if k != "request_headers"}


@plughost.route("/needs")
async def needs(name, count="1"):
    return {"name": name, "count": count}


@plughost.route("/needs-sync")
def needs_sync(name):
    return {"name": name}


@plughost.route("/with-request")
async def with_request(request):
    return {"path": request.path}


@plughost.route("/json")
async def as_json():
    return {"a": 1}


@plughost.route("/list")
async def as_list():
    return [1, 2]


@plughost.route("/text")
async def as_text():
    return "plain"


@plughost.route("/none")
async def as_none():
    return None


@plughost.route("/response")
async def as_response():
    return web.Response(text="custom", status=201, headers={"X-Custom": "yes"})


@plughost.route("/methods", method=["GET", "POST"])
async def methods(request):
    return {"method": request.method}
"""


async def test_sync_callback_runs_off_the_event_loop(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"callbacks": CALLBACKS}))
    async with asyncio.timeout(10):
        blocked = asyncio.ensure_future(client.get("/blocking"))
        # The loop still answers while the sync callback blocks its thread.
        async_resp = await client.get("/async")
        assert await async_resp.json() == {"kind": "async"}
        release = await client.get("/release")
        assert release.status == 200
        resp = await blocked
        assert await resp.json() == {"released": True}


async def test_path_and_query_parameters(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"callbacks": CALLBACKS}))
    resp = await client.get("/items/42")
    assert await resp.json() == {"id": "42", "verbose": "no"}
    # Query values fill named arguments; unknown ones are ignored.
    resp = await client.get("/items/42", params={"verbose": "yes", "junk": "1"})
    assert await resp.json() == {"id": "42", "verbose": "yes"}
    # A query value may not stand in for a path parameter: the host supplies that.
    resp = await client.get("/items/42", params={"id": "spoofed"})
    assert resp.status == 400
    assert "'id'" in (await resp.json())["error"]
    resp = await client.get("/numbers/7")
    assert await resp.json() == {"n": 7}
    resp = await client.get("/numbers/seven")
    assert resp.status == 404
    resp = await client.get("/everything/p", params={"x": "1", "y": "2"})
    assert await resp.json() == {"part": "p", "x": "1", "y": "2"}
    resp = await client.get("/with-request")
    assert await resp.json() == {"path": "/with-request"}


@pytest.mark.parametrize("path", ["/needs", "/needs-sync"])
async def test_missing_required_argument_is_400_naming_it(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, path: str
) -> None:
    client = await plughost_client(plughost_project({"callbacks": CALLBACKS}))
    resp = await client.get(path)
    assert resp.status == 400
    body = await resp.json()
    assert body["status"] == 400
    assert "missing required argument 'name'" in body["error"]
    resp = await client.get(path, params={"name": "ann"})
    assert resp.status == 200
    assert (await resp.json())["name"] == "ann"


async def test_return_values_map_to_responses(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"callbacks": CALLBACKS}))
    resp = await client.get("/json")
    assert resp.content_type == "application/json"
    assert await resp.json() == {"a": 1}
    resp = await client.get("/list")
    assert resp.content_type == "application/json"
    assert await resp.json() == [1, 2]
    resp = await client.get("/text")
    assert resp.content_type == "text/plain"
    assert await resp.text() == "plain"
    resp = await client.get("/none")
    assert resp.status == 204
    assert await resp.read() == b""
    resp = await client.get("/response")
    assert resp.status == 201
    assert resp.headers["X-Custom"] == "yes"
    assert await resp.text() == "custom"


async def test_methods_404_and_405(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"callbacks": CALLBACKS}))
    assert await (await client.get("/methods")).json() == {"method": "GET"}
    assert await (await client.post("/methods")).json() == {"method": "POST"}
    resp = await client.head("/json")
    assert resp.status == 200

    resp = await client.get("/no/such/path")
    assert resp.status == 404
    assert resp.content_type == "application/json"
    assert (await resp.json())["status"] == 404

    resp = await client.put("/methods")
    assert resp.status == 405
    assert resp.content_type == "application/json"
    assert (await resp.json())["status"] == 405
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "PUT" not in allowed


CONFLICT_A = """
import plughost


@plughost.route("/same")
async def same():
    return "from first"


@plughost.route("/first-only")
async def first_only():
    return "first"
"""

CONFLICT_B = """
import plughost


@plughost.route("/same")
async def same():
    return "from second"


@plughost.route("/second-only")
async def second_only():
    return "second"
"""


async def test_route_conflict_between_two_plugins(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"first": CONFLICT_A, "second": CONFLICT_B})
    client = await plughost_client(project)
    status = host_of(client).status()
    assert status["first"].state == "loaded"
    assert status["second"].state == "error"
    error = status["second"].error or ""
    assert "GET /same" in error
    assert "'first'" in error and "'second'" in error
    # The first plugin keeps serving; nothing of the refused one is live.
    assert await (await client.get("/same")).text() == "from first"
    assert await (await client.get("/first-only")).text() == "first"
    assert (await client.get("/second-only")).status == 404


# -- the Host API on a Host built by hand ---------------------------------


async def test_host_api_without_a_project(aiohttp_client: AiohttpClient) -> None:
    host = Host()
    tagger = Suffix("host")

    def hello(name: str) -> str:
        return f"hello {name}"

    async def raw() -> str:
        return "raw"

    host.route("/hello/{name}")(hello)
    host.route("/raw", skip=[tagger])(raw)

    host.install(tagger)
    client: TestClient[Any, Any] = await aiohttp_client(HostServer(host))
    try:
        assert await (await client.get("/hello/ann")).text() == "hello ann+host"
        assert await (await client.get("/raw")).text() == "raw"
        assert [r.rule for r in host.routes] == ["/hello/{name}", "/raw"]
        route = host.routes[0]
        assert route.callback is hello
        assert route.method == "GET"
        assert route.name == "hello"
        assert inspect.iscoroutinefunction(route.call)
    finally:
        await host.close()
    assert tagger.closed == 1


async def test_host_route_conflict_is_refused_and_leaves_nothing(
    aiohttp_client: AiohttpClient,
) -> None:
    host = Host()

    async def first() -> str:
        return "first"

    async def second() -> str:  # pragma: no cover - never served
        return "second"

    async def later() -> str:
        return "later"

    host.route("/dup")(first)
    with pytest.raises(plughost.RouteConflictError, match="GET /dup"):
        host.route("/dup")(second)
    # The refusal changed nothing: the host still publishes and serves.
    host.route("/later")(later)

    client: TestClient[Any, Any] = await aiohttp_client(HostServer(host))
    assert await (await client.get("/dup")).text() == "first"
    assert await (await client.get("/later")).text() == "later"
    await host.close()


def test_route_rule_must_start_with_slash() -> None:
    async def callback() -> None:  # pragma: no cover - never called
        return None

    with pytest.raises(plughost.PluginError, match="must start with '/'"):
        Route("nope", "GET", callback)


def test_route_decorator_keeps_the_function() -> None:
    @plughost.route("/x", method=["get", "post"], name="ex", skip="a", flag=True)
    async def x() -> None:  # pragma: no cover - never called
        return None

    specs = x.__plughost_routes__  # type: ignore[attr-defined]
    assert len(specs) == 1
    spec = specs[0]
    assert spec.methods == ("GET", "POST")
    assert spec.name == "ex"
    assert spec.skip == ("a",)
    assert spec.config == {"flag": True}
    assert inspect.iscoroutinefunction(x)


async def test_async_close_of_an_uninstalled_wrapper_runs(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"text": TEXT_ROUTES}))
    host = host_of(client)
    closed = asyncio.Event()

    class AsyncClose(CountingWrapper):
        async def close(self) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            closed.set()

    wrapper = host.install(AsyncClose("async-close"))
    assert host.uninstall(wrapper) == [wrapper]
    async with asyncio.timeout(5):
        await closed.wait()
    assert await (await client.get("/a")).text() == "a"


async def test_plugins_may_share_a_rule_with_different_methods(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    getter = 'import plughost\n\n@plughost.route("/x")\nasync def x():\n    return "get"\n'
    poster = (
        'import plughost\n\n@plughost.route("/x", method="POST")\nasync def x():\n'
        '    return "post"\n'
    )
    client = await plughost_client(plughost_project({"getter": getter, "poster": poster}))
    assert await (await client.get("/x")).text() == "get"
    assert await (await client.post("/x")).text() == "post"
    resp = await client.delete("/x")
    assert resp.status == 405
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}


async def test_bad_rule_fails_only_its_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    bad = 'import plughost\n\n@plughost.route("/y/{")\nasync def y():\n    return "y"\n'
    client = await plughost_client(plughost_project({"bad": bad, "text": TEXT_ROUTES}))
    status = host_of(client).status()
    assert status["bad"].state == "error"
    assert "bad route rule '/y/{'" in (status["bad"].error or "")
    assert await (await client.get("/a")).text() == "a"


GUARD = """
class Guard:
    name = "guard"
    api = 2

    def apply(self, callback, route):
        if route.rule == "/refused" and REFUSE:
            raise ValueError("this wrapper cannot apply to /refused")
        return callback


def setup(host):
    host.install(Guard())
"""

REFUSED = """
import plughost


@plughost.route("/refused")
async def refused():
    return "served"
"""


async def test_reloading_a_wrapper_checks_the_routes_already_served(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project(
        {"guard": "REFUSE = False\n" + GUARD, "endpoint": REFUSED}, enabled=["guard", "endpoint"]
    )
    client = await plughost_client(project)
    assert await (await client.get("/refused")).text() == "served"  # built with the old wrapper
    (project.plugins_dir / "guard.py").write_text("REFUSE = True\n" + GUARD)
    result = await host_of(client).load("guard")
    assert not result.ok
    assert "cannot apply to /refused" in str(result.error)
    assert await (await client.get("/refused")).text() == "served"
