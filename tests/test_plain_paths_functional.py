"""Plain rules (no ``{param}``) are found by a direct lookup of the request's path;
everything a client sees must be what aiohttp's dispatcher answers.

Trailing slashes, percent-encoded paths, HEAD for GET, 404 and 405 with ``Allow``, a
dynamic rule that aiohttp picks before a plain one, ``method="*"`` and routes added or
removed by a reload, on a real loopback server; paths with escapes go out on a raw
socket, byte for byte.
"""

from __future__ import annotations

import asyncio
import json

from _support import edit_and_wait, host_of

from plughost.testing import ClientFactory, ProjectFactory

ROUTES = """
import plughost
from aiohttp import web


@plughost.route("/items/{rest:.*}")
async def items_dynamic(rest):
    return {"route": "dynamic", "rest": rest}


@plughost.route("/items/")
async def items_plain():
    return {"route": "plain"}


@plughost.route("/hello")
async def hello():
    return {"hello": "world"}


@plughost.route("/dir/")
async def directory():
    return "dir"


@plughost.route("/with space")
async def with_space():
    return "space"


@plughost.route("/a/b")
async def a_b():
    return "a/b"


@plughost.route("/any", method="*")
async def any_method(request):
    return {"method": request.method}


@plughost.route("/own-head")
async def own_head_get():
    return "get"


@plughost.route("/own-head", method="HEAD")
async def own_head():
    return web.Response(headers={"X-Head": "own"})
"""


async def _raw_get(port: int, target: str, method: str = "GET") -> tuple[int, bytes]:
    """Send one request line exactly as given; return the status and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        async with asyncio.timeout(10):
            data = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_trailing_slashes_and_escapes_match_as_aiohttp_matches_them(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"routes": ROUTES}))
    assert await (await client.get("/hello")).json() == {"hello": "world"}
    assert await (await client.get("/hello?x=1")).json() == {"hello": "world"}
    assert (await client.get("/hello/")).status == 404
    assert (await client.get("/dir")).status == 404
    assert await (await client.get("/dir/")).text() == "dir"

    port = client.port
    assert port is not None
    assert await _raw_get(port, "/hell%6F") == (200, b'{"hello": "world"}')
    assert await _raw_get(port, "/with%20space") == (200, b"space")
    assert await _raw_get(port, "/a/b") == (200, b"a/b")
    status, body = await _raw_get(port, "/a%2Fb")
    assert status == 404
    assert json.loads(body) == {"error": "Not Found", "status": 404}
    assert (await _raw_get(port, "/HELLO"))[0] == 404


async def test_head_405_and_any_method(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"routes": ROUTES}))
    resp = await client.head("/hello")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.read() == b""
    resp = await client.head("/own-head")
    assert resp.headers["X-Head"] == "own"

    resp = await client.post("/hello")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET,HEAD"
    assert await resp.json() == {"error": "Method Not Allowed", "status": 405}
    resp = await client.delete("/own-head")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET,HEAD"

    for method in ("GET", "PUT", "PATCH"):
        resp = await client.request(method, "/any")
        assert await resp.json() == {"method": method}


async def test_a_dynamic_rule_aiohttp_tries_first_still_answers(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    # aiohttp tries "/items/{rest:.*}" (declared first, indexed under "/items" like
    # "/items/") before the plain "/items/", and it matches "/items/" with rest "".
    client = await plughost_client(plughost_project({"routes": ROUTES}))
    assert await (await client.get("/items/")).json() == {"route": "dynamic", "rest": ""}
    assert await (await client.get("/items/x")).json() == {"route": "dynamic", "rest": "x"}


ONE = """
import plughost


@plughost.route("/one")
async def one():
    return "one"
"""

TWO = """
import plughost


@plughost.route("/two")
async def two():
    return "two"


@plughost.route("/two", method="POST")
async def two_post():
    return "posted"
"""


async def test_plain_routes_follow_a_reload(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"edited": ONE})
    client = await plughost_client(project, reload=True)
    assert await (await client.get("/one")).text() == "one"
    assert (await client.get("/two")).status == 404

    await edit_and_wait(client, project.plugins_dir / "edited.py", TWO, "edited")
    assert (await client.get("/one")).status == 404
    assert await (await client.get("/two")).text() == "two"
    assert await (await client.post("/two")).text() == "posted"
    resp = await client.put("/two")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET,HEAD,POST"
    assert {route.rule for route in host_of(client).routes} >= {"/two"}


async def test_a_reload_that_keeps_every_rule_serves_the_new_code_on_the_same_dispatcher(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"routes": ROUTES})
    client = await plughost_client(project, reload=True)
    host = host_of(client)
    before = host.table.router
    edited = ROUTES.replace('"world"', '"again"').replace('"dir"', '"dir2"')
    edited = edited.replace('"dynamic"', '"dynamic2"').replace('"own"', '"own2"')
    await edit_and_wait(client, project.plugins_dir / "routes.py", edited, "routes")
    assert host.table.router is before, "no rule changed: no new aiohttp dispatcher"

    assert await (await client.get("/hello")).json() == {"hello": "again"}
    assert await (await client.get("/dir/")).text() == "dir2"
    port = client.port
    assert port is not None
    assert await _raw_get(port, "/hell%6F") == (200, b'{"hello": "again"}')
    assert await (await client.get("/items/")).json() == {"route": "dynamic2", "rest": ""}
    resp = await client.head("/hello")
    assert resp.status == 200
    assert (await client.head("/own-head")).headers["X-Head"] == "own2"
    resp = await client.post("/hello")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET,HEAD"
    assert await (await client.patch("/any")).json() == {"method": "PATCH"}


async def test_a_route_for_every_method_and_another_on_its_rule_conflict(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    every = 'import plughost\n\n@plughost.route("/x", method="*")\nasync def x():\n    return "x"\n'
    get = 'import plughost\n\n@plughost.route("/x")\nasync def y():\n    return "y"\n'
    client = await plughost_client(plughost_project({"every": every, "get": get}))
    status = host_of(client).status()
    assert status["every"].state.value == "loaded"
    assert status["get"].state.value == "error"
    assert "takes every method" in (status["get"].error or "")
    assert await (await client.get("/x")).text() == "x"
