"""plugincore's BasePlugin contract (pluginserver 0.10.5), served by a real plughost server.

Each plugin here is written the way plugincore's own plugins are: ``__init__(self,
**kwargs)`` calling ``super().__init__(**kwargs)``, ``initialize``, ``terminate_plugin``,
``(status, value)`` returns and the ``args`` plugincore passes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from _support import poll

from plughost.testing import ClientFactory, ProjectFactory, host_of

KWARGS = """
import json
from pathlib import Path

from plughost import BasePlugin

LOG = Path(__file__).with_name("events.log")


def event(text):
    with LOG.open("a") as stream:
        stream.write(text + "\\n")


class Kw(BasePlugin):
    def __init__(self, **kwargs):
        self.before_super = True
        super().__init__(**kwargs)
        self.colour = kwargs.get("colour")
        self.seen = sorted(kwargs)
        event("init " + str(kwargs.get("colour")))

    async def initialize(self, **kwargs):
        self.initialized_with = kwargs.get("colour")
        event("initialize")

    def terminate_plugin(self):
        event("terminate")

    async def request_handler(self, **args):
        self.log.info("handled %s", args["subpath"])
        self.log("called like LogJam")
        self.log.warn("warned like LogJam")
        return 200, {
            "kwargs": self.seen,
            "colour": self.colour,
            "initialized_with": self.initialized_with,
            "plugin_id": self._plugin_id,
            "args_colour": self.args["colour"],
            "log": self.log.name,
            "subpath": args["subpath"],
            "client_ip": args["client_ip"],
            "cookie": args["request"].cookies.get("c"),
            "header": args["request_headers"].get("x-h"),
            "same_log": args["log"] is self.log,
            "values": {
                k: v
                for k, v in args.items()
                if k not in ("request", "request_headers", "log", "subpath", "client_ip")
            },
        }
"""


async def test_keyword_construction_initialize_and_args(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    project = plughost_project({"kw": KWARGS}, params={"kw": {"colour": "blue"}})
    client = await plughost_client(project)
    caplog.set_level(logging.INFO, logger="plughost.plugins")

    resp = await client.get("/kw/a/b", params={"q": "1"}, headers={"X-H": "h", "Cookie": "c=k"})
    assert resp.status == 200
    body = await resp.json()
    assert body["kwargs"] == [
        "apikey",
        "auth_type",
        "colour",
        "config",
        "log",
        "params",
        "route_path",
        "task_callback",
        "tasks",
    ]
    assert body["colour"] == body["initialized_with"] == body["args_colour"] == "blue"
    assert body["plugin_id"] == "kw"
    assert body["log"] == "plughost.plugins.kw"
    assert body["subpath"] == "a/b"
    assert body["client_ip"] == "127.0.0.1"
    assert body["cookie"] == "k" and body["header"] == "h" and body["same_log"] is True
    assert body["values"] == {"q": "1"}
    messages = [r.getMessage() for r in caplog.records if r.name == "plughost.plugins.kw"]
    assert messages == ["handled a/b", "called like LogJam", "warned like LogJam"]

    bare = await (await client.get("/kw")).json()
    assert bare["subpath"] is None
    trailing = await (await client.post("/kw/")).json()
    assert trailing["subpath"] == ""


async def test_terminate_plugin_runs_on_reload_and_disable(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"kw": KWARGS}, params={"kw": {"colour": "blue"}})
    events = project.plugins_dir / "events.log"
    client = await plughost_client(project, reload=True)
    assert events.read_text().split("\n")[:2] == ["init blue", "initialize"]

    project.write_config(project.config_path.read_text().replace("blue", "red"))

    async def colour() -> object:
        return (await (await client.get("/kw")).json())["colour"]

    await poll(colour, lambda value: value == "red")
    expected = ["init blue", "initialize", "init red", "initialize", "terminate"]
    await poll(_read(events), lambda text: text.splitlines() == expected)
    config = project.config_path.read_text()
    project.write_config(config.replace("enabled = true", "enabled = false"))
    await poll(_read(events), lambda text: text.count("terminate") == 2)
    assert (await client.get("/kw")).status == 404


def _read(path: Path):  # type: ignore[no-untyped-def]
    async def read() -> str:
        return path.read_text() if path.exists() else ""

    return read


async def test_terminate_plugin_runs_when_the_server_stops(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"kw": KWARGS})
    client = await plughost_client(project)
    await host_of(client).close()
    assert (project.plugins_dir / "events.log").read_text().endswith("terminate\n")


TUPLES = """
from aiohttp import web

from plughost import BasePlugin


class Tuples(BasePlugin):
    async def request_handler(self, **args):
        kind = args["subpath"]
        if kind == "missing":
            return 404, {"Error": "missing is not a member of response_data"}
        if kind == "created":
            return (201, "made")
        if kind == "response":
            return 200, web.json_response({"own": True}, status=409)
        if kind == "list":
            return 200, [1, 2]
        if kind == "bad":
            return 1200, {}
        return {"plain": True}
"""


@pytest.mark.parametrize(
    ("subpath", "status", "body"),
    [
        ("missing", 404, {"Error": "missing is not a member of response_data"}),
        ("created", 201, "made"),
        ("response", 409, {"own": True}),
        ("list", 200, [1, 2]),
        ("plain", 200, {"plain": True}),
    ],
)
async def test_status_value_tuples(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    subpath: str,
    status: int,
    body: object,
) -> None:
    client = await plughost_client(plughost_project({"tuples": TUPLES}))
    resp = await client.get(f"/tuples/{subpath}")
    assert resp.status == status
    assert (
        await resp.json() if resp.content_type == "application/json" else await resp.text()
    ) == body


async def test_a_status_that_is_no_http_status_is_a_500_naming_the_plugin(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await plughost_client(plughost_project({"tuples": TUPLES}))
    resp = await client.get("/tuples/bad")
    assert resp.status == 500
    assert (await resp.json())[
        "error"
    ] == "plugin 'tuples' returned status 1200, not an HTTP status"


ECHO = """
from plughost import BasePlugin


class Echo(BasePlugin):
    auth_type = "global"

    def request_handler(self, **args):
        return {
            "values": {k: v for k, v in args.items()
                       if k not in ("request", "request_headers", "log", "subpath", "client_ip")},
            "client_ip": args["client_ip"],
        }
"""


def _echo_project(plughost_project: ProjectFactory, server: str = "") -> object:
    return plughost_project({"echo": ECHO}, config=f'[auth]\napikey = "k1"\n{server}')


async def test_x_custom_auth_header_is_a_key(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(_echo_project(plughost_project))
    assert (await client.get("/echo")).status == 401
    assert (await client.get("/echo", headers={"X-Custom-Auth": "nope"})).status == 401
    resp = await client.get("/echo", headers={"X-Custom-Auth": "k1"})
    assert resp.status == 200


@pytest.mark.parametrize("content_type", ["text/javascript", "text/plain", None])
async def test_a_json_object_body_is_read_whatever_its_content_type(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, content_type: str | None
) -> None:
    client = await plughost_client(_echo_project(plughost_project))
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps({"apikey": "k1", "data": {"a": 1}}).encode()
    resp = await client.post("/echo", data=body, headers=headers, params={"q": "2"})
    assert resp.status == 200
    assert (await resp.json())["values"] == {"data": {"a": 1}, "q": "2"}


async def test_a_body_that_is_not_a_json_object_is_left_alone(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(_echo_project(plughost_project))
    for body in (b"[1, 2]", b"not json", b'"text"'):
        resp = await client.post(
            "/echo", data=body, headers={"Content-Type": "text/plain", "X-API-Key": "k1"}
        )
        assert resp.status == 200
        assert (await resp.json())["values"] == {}


@pytest.mark.parametrize("key", ["client_ip", "log", "subpath", "request", "request_headers"])
@pytest.mark.parametrize("where", ["query", "text-body"])
async def test_args_the_host_supplies_cannot_be_sent(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, key: str, where: str
) -> None:
    client = await plughost_client(_echo_project(plughost_project))
    headers = {"X-API-Key": "k1"}
    if where == "query":
        resp = await client.get("/echo", params={key: "forged"}, headers=headers)
    else:
        headers["Content-Type"] = "text/javascript"
        resp = await client.post("/echo", data=json.dumps({key: "forged"}), headers=headers)
    assert resp.status == 400
    assert (await resp.json())["error"] == (
        f"{key!r} is supplied by the host and cannot be sent as input"
    )


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(_echo_project(plughost_project))
    headers = {"X-API-Key": "k1", "X-Forwarded-For": "203.0.113.7"}
    assert (await (await client.get("/echo", headers=headers)).json())["client_ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("forwarded", "client_ip"),
    [
        ("203.0.113.7", "203.0.113.7"),
        # a client may write anything on the left; the trusted proxy appended the right end
        ("198.51.100.1, 203.0.113.7", "203.0.113.7"),
        ("203.0.113.7, 127.0.0.1", "203.0.113.7"),
        (None, "127.0.0.1"),
    ],
)
async def test_a_trusted_proxy_names_the_client(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    forwarded: str | None,
    client_ip: str,
) -> None:
    project = _echo_project(plughost_project, '[server]\ntrusted_proxies = ["127.0.0.0/8"]\n')
    client = await plughost_client(project)
    headers = {"X-API-Key": "k1"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    assert (await (await client.get("/echo", headers=headers)).json())["client_ip"] == client_ip


RENAMED = """
from plughost import BasePlugin


class Renamed(BasePlugin):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._plugin_id = "elsewhere"

    async def request_handler(self, **args):
        return 200, {"subpath": args["subpath"]}
"""


async def test_a_plugin_id_set_in_init_is_where_it_answers(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"renamed": RENAMED}))
    assert (await client.get("/renamed")).status == 404
    assert await (await client.get("/elsewhere/x")).json() == {"subpath": "x"}


FAILING = """
from plughost import BasePlugin


class Failing(BasePlugin):
    async def initialize(self, **kwargs):
        raise RuntimeError("no database")

    def request_handler(self, **args):
        return {}
"""


async def test_initialize_that_raises_fails_the_plugin_with_file_and_line(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"failing": FAILING})
    client = await plughost_client(project)
    assert (await client.get("/failing")).status == 503
    status = await (await client.get("/_plughost/status")).json()
    error = status["plugins"]["failing"]["error"]
    assert "Failing.initialize() raised RuntimeError: no database" in error
    assert f"{project.plugins_dir / 'failing.py'}:7" in error


async def test_a_param_named_like_a_host_keyword_is_refused(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"kw": KWARGS}, params={"kw": {"log": "x"}})
    client = await plughost_client(project)
    status = await (await client.get("/_plughost/status")).json()
    error = status["plugins"]["kw"]["error"]
    assert "params.log: 'log' is a keyword the host passes to Kw" in error


TASKS = """
import asyncio
from pathlib import Path

from plughost import BasePlugin

LOG = Path(__file__).with_name("tasks.log")


async def forever():
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        LOG.write_text("cancelled")
        raise


class Ticker(BasePlugin):
    async def initialize(self, **kwargs):
        kwargs["task_callback"](asyncio.create_task(forever()))

    async def request_handler(self, **args):
        return 200, {"ok": True}
"""


async def test_a_task_given_to_task_callback_is_cancelled_when_the_plugin_closes(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"ticker": TASKS})
    client = await plughost_client(project)
    assert (await client.get("/ticker")).status == 200
    assert not (project.plugins_dir / "tasks.log").exists()
    await host_of(client).close()
    assert (project.plugins_dir / "tasks.log").read_text() == "cancelled"
