"""Real Bottle plugins from PyPI, unchanged, on plughost and under Bottle 0.13.4 itself.

Each plugin is installed by the ``test`` extra. The same routes are served twice:
by Bottle (its WSGI app on a loopback ``wsgiref`` server in a thread) and by
plughost (a project whose plugin installs the Bottle plugin in ``setup``). The
same requests go to both, and the outcomes must match: the status, the content
type and the body, or for a Bottle ``HTTPError`` (which Bottle renders as an
HTML page and plughost as its JSON error) the status and the error's text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import aiohttp
import bottle
import bottle_cors_plugin
import bottle_jsonschema
import bottle_marshmallow
import marshmallow
import pytest

from plughost.testing import ClientFactory, ProjectFactory


@dataclass(frozen=True)
class Outcome:
    status: int
    content_type: str
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def under_bottle() -> Iterator[Any]:
    """Serve a Bottle app on loopback; yields a function that starts one and returns its URL."""
    servers: list[WSGIServer] = []
    threads: list[threading.Thread] = []

    def serve(app: bottle.Bottle) -> str:
        server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        servers.append(server)
        threads.append(thread)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
    for thread in threads:
        thread.join(timeout=10)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as client:
        yield client


async def fetch(
    session: aiohttp.ClientSession, base: str, method: str, path: str, **kwargs: Any
) -> Outcome:
    async with session.request(method, base + path, **kwargs) as resp:
        return Outcome(resp.status, resp.content_type, await resp.text(), dict(resp.headers))


async def plughost_base(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, source: str
) -> str:
    client = await plughost_client(plughost_project({"bottled": source}))
    return str(client.make_url("")).rstrip("/")


# -- bottle-marshmallow: dotted route config, bottle.request.json and .query,
#    bottle.response.status, an injected keyword argument --------------------


class Item(marshmallow.Schema):
    name = marshmallow.fields.Str(required=True)
    qty = marshmallow.fields.Int()


class Search(marshmallow.Schema):
    q = marshmallow.fields.Str(required=True)


MARSHMALLOW = """
import marshmallow
import plughost
from bottle_marshmallow import MarshmallowPlugin


class Item(marshmallow.Schema):
    name = marshmallow.fields.Str(required=True)
    qty = marshmallow.fields.Int()


class Search(marshmallow.Schema):
    q = marshmallow.fields.Str(required=True)


def setup(host):
    host.install(MarshmallowPlugin())


@plughost.route("/items", method="POST", schemas={"body": Item})
def add_item(validated):
    return {"added": validated["body"]}


@plughost.route("/search", schemas={"query_string": Search})
async def search(validated):
    return {"searched": validated["query_string"]}


@plughost.route("/plain")
def plain():
    return {"wrapped": False}
"""


def marshmallow_app() -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(bottle_marshmallow.MarshmallowPlugin())

    def add_item(validated: dict[str, Any]) -> dict[str, Any]:
        return {"added": validated["body"]}

    def search(validated: dict[str, Any]) -> dict[str, Any]:
        return {"searched": validated["query_string"]}

    def plain() -> dict[str, Any]:
        return {"wrapped": False}

    app.route("/items", "POST", add_item, schemas={"body": Item})
    app.route("/search", "GET", search, schemas={"query_string": Search})
    app.route("/plain", "GET", plain)
    return app


MARSHMALLOW_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/items", {"json": {"name": "pen", "qty": 2}}),
    ("POST", "/items", {"json": {"qty": "many"}}),
    ("POST", "/items", {"json": {"name": "pen", "colour": "red"}}),
    ("GET", "/search", {"params": {"q": "pens"}}),
    ("GET", "/search", {}),
    ("GET", "/plain", {}),
]


async def test_bottle_marshmallow_validates_as_under_bottle(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    under_bottle: Any,
    session: aiohttp.ClientSession,
) -> None:
    bottle_base = under_bottle(marshmallow_app())
    ours = await plughost_base(plughost_project, plughost_client, MARSHMALLOW)
    for method, path, options in MARSHMALLOW_REQUESTS:
        expected = await fetch(session, bottle_base, method, path, **options)
        got = await fetch(session, ours, method, path, **options)
        assert (got.status, got.content_type) == (expected.status, expected.content_type), path
        assert got.json() == expected.json(), (method, path, options)
    # The outcomes are the plugin's, not a pass-through: an invalid body is refused.
    refused = await fetch(session, ours, "POST", "/items", json={"qty": "many"})
    assert refused.status == 400
    assert refused.json()["validation"] == "body"
    assert set(refused.json()["errors"]) == {"name", "qty"}


# -- bottle-jsonschema: bottle.request.content_type and .json, abort(), an
#    HTTPError subclass with a JSON body -------------------------------------

NOTE_SCHEMA = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string"}},
}

JSONSCHEMA = f"""
import plughost
from bottle_jsonschema import JSONSchemaPlugin

NOTE_SCHEMA = {NOTE_SCHEMA!r}


def setup(host):
    host.install(JSONSchemaPlugin(schema_lookup=lambda: NOTE_SCHEMA))


@plughost.route("/notes", method=["GET", "POST"])
async def notes(text="(none)"):
    return {{"note": text}}
"""


def jsonschema_app() -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(bottle_jsonschema.JSONSchemaPlugin(schema_lookup=lambda: NOTE_SCHEMA))

    def notes() -> dict[str, Any]:
        body = bottle.request.json or {}
        return {"note": body.get("text", "(none)")}

    app.route("/notes", ["GET", "POST"], notes)
    return app


async def test_bottle_jsonschema_validates_as_under_bottle(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    under_bottle: Any,
    session: aiohttp.ClientSession,
) -> None:
    bottle_base = under_bottle(jsonschema_app())
    ours = await plughost_base(plughost_project, plughost_client, JSONSCHEMA)

    accepted = [
        ("POST", {"json": {"text": "hello"}}),
        ("GET", {}),  # the plugin checks POST, PATCH and PUT only
    ]
    for method, options in accepted:
        expected = await fetch(session, bottle_base, method, "/notes", **options)
        got = await fetch(session, ours, method, "/notes", **options)
        assert expected.status == got.status == 200
        assert got.json() == expected.json()

    refused: list[tuple[dict[str, Any], str | None]] = [
        ({"json": {"text": 1}}, "failed constraint: properties.text.type: string"),
        ({"json": {}}, "failed constraint: required: ['text']"),
        ({"data": "text=hi", "headers": {"Content-Type": "text/plain"}}, "content type"),
        # Bottle's request.json refuses it ("Invalid JSON"), plughost's read_input too.
        ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, None),
    ]
    for options, message in refused:
        expected = await fetch(session, bottle_base, "POST", "/notes", **options)
        got = await fetch(session, ours, "POST", "/notes", **options)
        assert expected.status == got.status == 400, (options, got.text)
        # Bottle renders its HTML error page around the HTTPError's body;
        # plughost answers its JSON error with the same body.
        assert got.content_type == "application/json"
        assert got.json()["status"] == 400
        if message is not None:
            assert bottle.html_escape(message) in expected.text
            assert message in got.json()["error"]


# -- bottle-cors-plugin: headers set on bottle.response, bottle.request.headers


CORS = """
import plughost
from bottle_cors_plugin import cors_plugin


def setup(host):
    host.install(cors_plugin(["https://a.example", "https://b.example"]))


@plughost.route("/shared")
def shared():
    return {"shared": True}
"""


def cors_app() -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(bottle_cors_plugin.cors_plugin(["https://a.example", "https://b.example"]))

    def shared() -> dict[str, Any]:
        return {"shared": True}

    app.route("/shared", "GET", shared)
    return app


async def test_bottle_cors_plugin_sets_headers_as_under_bottle(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    under_bottle: Any,
    session: aiohttp.ClientSession,
) -> None:
    bottle_base = under_bottle(cors_app())
    ours = await plughost_base(plughost_project, plughost_client, CORS)
    names = (
        "Access-Control-Allow-Origin",
        "Access-Control-Allow-Methods",
        "Access-Control-Allow-Headers",
    )
    for origin in ("https://b.example", "https://elsewhere.example", None):
        headers = {"Origin": origin} if origin else {}
        expected = await fetch(session, bottle_base, "GET", "/shared", headers=headers)
        got = await fetch(session, ours, "GET", "/shared", headers=headers)
        assert expected.status == got.status == 200
        assert got.json() == expected.json() == {"shared": True}
        assert [got.headers.get(n) for n in names] == [expected.headers.get(n) for n in names]
    assert got.headers["Access-Control-Allow-Origin"] == "https://a.example"
