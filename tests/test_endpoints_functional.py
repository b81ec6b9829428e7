"""Endpoint plugins (plugincore model): BasePlugin, API-key auth, CORS, background tasks."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from _support import host_of, poll
from aiohttp.test_utils import TestClient

from plughost.tasks import TaskState
from plughost.testing import ClientFactory, ProjectFactory

# The bare-bones Example from the plugincore docs, written the obvious way.
EXAMPLE = """
from plughost import BasePlugin


class Example(BasePlugin):
    def request_handler(self, **args):
        return {'example': 'Hi from Example.py'}
"""


async def test_plugincore_example(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"Example": EXAMPLE}))
    for method in ("GET", "POST"):
        resp = await client.request(method, "/example")
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.json() == {"example": "Hi from Example.py"}
    resp = await client.put("/example")
    assert resp.status == 405


ARGS = """
from plughost import BasePlugin


class Args(BasePlugin):
    route_path = "args"

    def request_handler(self, **args):
        headers = args.pop("request_headers")
        request, log = args.pop("request"), args.pop("log")
        return {
            "args": args,
            "method": request.method,
            "log": [log.name, log is self.log],
            "custom": headers.get("x-custom"),
            "CUSTOM": headers.get("X-CUSTOM"),
            "plugin": {
                "route_path": self.route_path,
                "auth_type": self.auth_type,
                "params": dict(self.params),
                "port": self.config.server.port,
            },
        }
"""


async def test_request_handler_gets_get_and_post_values_and_headers(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"argsplugin": ARGS}, params={"argsplugin": {"colour": "blue"}})
    client = await plughost_client(project)
    plugin = {"route_path": "args", "auth_type": "none", "params": {"colour": "blue"}, "port": 8080}

    resp = await client.get("/args", params={"a": "1", "b": "two"}, headers={"X-Custom": "yes"})
    host_args = {"client_ip": "127.0.0.1", "subpath": None}
    assert await resp.json() == {
        "args": {"a": "1", "b": "two", **host_args},
        "method": "GET",
        "log": ["plughost.plugins.argsplugin", True],
        "custom": "yes",
        "CUSTOM": "yes",
        "plugin": plugin,
    }
    resp = await client.post("/args", data={"form": "value"}, params={"q": "1"})
    assert (await resp.json())["args"] == {"form": "value", "q": "1", **host_args}
    resp = await client.post("/args", json={"n": 1, "list": [1, 2], "obj": {"k": None}})
    assert (await resp.json())["args"] == {"n": 1, "list": [1, 2], "obj": {"k": None}, **host_args}


@pytest.mark.parametrize("where", ["query", "form", "json"])
async def test_reserved_keys_cannot_be_spoofed(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, where: str
) -> None:
    client = await plughost_client(plughost_project({"argsplugin": ARGS}))
    spoof = {"request_headers": "forged"}
    if where == "query":
        resp = await client.get("/args", params=spoof)
    elif where == "form":
        resp = await client.post("/args", data=spoof)
    else:
        resp = await client.post("/args", json=spoof)
    assert resp.status == 400
    assert "'request_headers'" in (await resp.json())["error"]


ROUTE_PATHS = """
from aiohttp import web

from plughost import BasePlugin


class FromClassName(BasePlugin):
    async def request_handler(self, **args):
        return "class name"


class FromAttribute(BasePlugin):
    route_path = "nested/attribute"

    def request_handler(self, **args):
        return ["attribute"]


class Raw(BasePlugin):
    route_path = "raw"

    async def request_handler(self, **args):
        return web.Response(text="raw", status=202)
"""


async def test_route_path_from_class_name_and_attribute(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"paths": ROUTE_PATHS}))
    resp = await client.get("/fromclassname")
    assert await resp.text() == "class name"
    resp = await client.get("/nested/attribute")
    assert await resp.json() == ["attribute"]
    resp = await client.post("/raw")
    assert resp.status == 202
    assert await resp.text() == "raw"


async def test_route_path_from_config_wins(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project(
        {"argsplugin": ARGS},
        enabled=[],
        config="[plugins.argsplugin]\nenabled = true\nroute_path = 'configured/here'\n",
    )
    client = await plughost_client(project)
    assert (await client.get("/args")).status == 404
    resp = await client.get("/configured/here", params={"x": "1"})
    body = await resp.json()
    assert body["args"] == {"x": "1", "client_ip": "127.0.0.1", "subpath": None}
    assert body["plugin"]["route_path"] == "configured/here"


UNSENDABLE = """
import datetime

from plughost import BasePlugin


class Unsendable(BasePlugin):
    def request_handler(self, **args):
        if "number" in args:
            return 42
        return {"when": datetime.date(2024, 1, 1)}
"""


async def test_non_json_serialisable_return_is_500_naming_plugin_and_type(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await plughost_client(plughost_project({"reporter": UNSENDABLE}))
    with caplog.at_level(logging.ERROR):
        resp = await client.get("/unsendable")
    assert resp.status == 500
    error = (await resp.json())["error"]
    assert "'reporter'" in error
    assert "date" in error
    assert "not JSON-serialisable" in error
    assert "'reporter'" in caplog.text
    resp = await client.get("/unsendable", params={"number": "1"})
    assert resp.status == 500
    error = (await resp.json())["error"]
    assert "'reporter'" in error and "'int'" in error


# -- API-key auth -----------------------------------------------------------

SECURE = """
from plughost import BasePlugin


class Secure(BasePlugin):
    route_path = "secure"

    def request_handler(self, **args):
        for supplied in ("request", "request_headers", "client_ip", "log", "subpath"):
            args.pop(supplied)
        return {"args": args}
"""

GLOBAL_KEY = "global-key-123"
PLUGIN_KEY = "plugin-key-456"


def _auth_project(
    plughost_project: ProjectFactory,
    auth_type: str | None,
    *,
    extra: str = "",
    plugin_extra: str = "",
) -> Any:
    auth_line = f'auth_type = "{auth_type}"\n' if auth_type else ""
    return plughost_project(
        {"secure": SECURE, "Example": EXAMPLE},
        enabled=["Example"],
        config=f"""
[auth]
apikey = "{GLOBAL_KEY}"
{extra}

[plugins.secure]
enabled = true
{auth_line}apikey = "{PLUGIN_KEY}"
{plugin_extra}
""",
    )


@pytest.mark.parametrize(("auth_type", "key"), [("global", GLOBAL_KEY), ("plugin", PLUGIN_KEY)])
async def test_key_accepted_from_header_bearer_and_post_argument(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, auth_type: str, key: str
) -> None:
    client = await plughost_client(_auth_project(plughost_project, auth_type))
    resp = await client.get("/secure", headers={"X-API-Key": key}, params={"q": "1"})
    assert resp.status == 200
    assert await resp.json() == {"args": {"q": "1"}}
    resp = await client.get("/secure", headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200
    for body in ({"json": {"apikey": key, "v": 1}}, {"data": {"apikey": key, "v": "1"}}):
        resp = await client.post("/secure", **body)
        assert resp.status == 200
        # The auth check consumed the key: the handler never sees it.
        args = (await resp.json())["args"]
        assert "apikey" not in args
        assert set(args) == {"v"}
    # An open plugin on the same host needs no key.
    assert (await client.get("/example")).status == 200


@pytest.mark.parametrize(("auth_type", "wrong"), [("global", PLUGIN_KEY), ("plugin", GLOBAL_KEY)])
async def test_wrong_or_missing_key_is_401(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, auth_type: str, wrong: str
) -> None:
    client = await plughost_client(_auth_project(plughost_project, auth_type))
    attempts: list[dict[str, Any]] = [
        {},
        {"headers": {"X-API-Key": wrong}},
        {"headers": {"X-API-Key": ""}},
        {"headers": {"Authorization": f"Bearer {wrong}"}},
        {"headers": {"Authorization": "Bearer "}},
        {"headers": {"Authorization": f"Basic {wrong}"}},
        {"headers": {"X-API-Key": GLOBAL_KEY + PLUGIN_KEY}},
        {"method": "POST", "json": {"apikey": wrong}},
        {"method": "POST", "json": {"apikey": 12345}},
    ]
    for attempt in attempts:
        method = attempt.pop("method", "GET")
        resp = await client.request(method, "/secure", **attempt)
        text = await resp.text()
        assert resp.status == 401, attempt
        # The refusal never reveals which keys exist.
        assert GLOBAL_KEY not in text and PLUGIN_KEY not in text
        assert (await resp.json())["status"] == 401


async def test_non_ascii_key_is_401_not_500(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(_auth_project(plughost_project, "global"))
    resp = await client.get("/secure", headers={"X-API-Key": "ключ-ü"})
    assert resp.status == 401
    resp = await client.get("/secure", headers={"Authorization": "Bearer ключ"})
    assert resp.status == 401
    # Bytes that are not even UTF-8, sent over a raw connection.
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        writer.write(
            b"GET /secure HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: \xff\xfe\xc3key\r\n"
            b"Connection: close\r\n\r\n"
        )
        await writer.drain()
        async with asyncio.timeout(10):
            response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    assert response.startswith(b"HTTP/1.1 401 ")


async def test_open_plugin_needs_no_key(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    for auth_type in (None, "none"):
        auth_line = f'auth_type = "{auth_type}"\n' if auth_type else ""
        project = plughost_project(
            {"secure": SECURE},
            enabled=[],
            config=f"[plugins.secure]\nenabled = true\n{auth_line}",
            root=tmp_path / f"auth-{auth_type}",
        )
        client = await plughost_client(project)
        resp = await client.post("/secure", json={"apikey": "anything", "v": 1})
        assert resp.status == 200
        # Even unneeded, a key argument is consumed, never passed on.
        assert await resp.json() == {"args": {"v": 1}}


async def test_query_key_refused_unless_allowed(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    refused = _auth_project(plughost_project, "global")
    client = await plughost_client(refused)
    resp = await client.get("/secure", params={"apikey": GLOBAL_KEY, "q": "1"})
    assert resp.status == 401

    allowed = plughost_project(
        {"secure": SECURE},
        enabled=[],
        root=tmp_path / "allowed",
        config=f"""
[auth]
apikey = "{GLOBAL_KEY}"
allow_query_key = true

[plugins.secure]
enabled = true
auth_type = "global"
""",
    )
    client = await plughost_client(allowed)
    resp = await client.get("/secure", params={"apikey": GLOBAL_KEY, "q": "1"})
    assert resp.status == 200
    assert await resp.json() == {"args": {"q": "1"}}
    resp = await client.get("/secure", params={"apikey": "wrong"})
    assert resp.status == 401


async def test_apikey_from_environment(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLUGHOST_TEST_SECURE_KEY", "from-the-environment")
    project = plughost_project(
        {"secure": SECURE},
        enabled=[],
        config="""
[plugins.secure]
enabled = true
auth_type = "plugin"
apikey_env = "PLUGHOST_TEST_SECURE_KEY"
""",
    )
    client = await plughost_client(project)
    resp = await client.get("/secure", headers={"X-API-Key": "from-the-environment"})
    assert resp.status == 200
    resp = await client.get("/secure", headers={"X-API-Key": "PLUGHOST_TEST_SECURE_KEY"})
    assert resp.status == 401


async def test_required_key_that_is_not_configured_refuses_everyone(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLUGHOST_TEST_UNSET_KEY", raising=False)
    project = plughost_project(
        {"secure": SECURE},
        enabled=[],
        config="""
[auth]
apikey_env = "PLUGHOST_TEST_UNSET_KEY"

[plugins.secure]
enabled = true
auth_type = "global"
""",
    )
    client = await plughost_client(project)
    for key in ("", "None", "PLUGHOST_TEST_UNSET_KEY"):
        resp = await client.get("/secure", headers={"Authorization": f"Bearer {key}"})
        assert resp.status == 401


async def test_class_attribute_auth_type(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    locked = SECURE.replace(
        '    route_path = "secure"\n', '    route_path = "secure"\n    auth_type = "global"\n'
    )
    project = plughost_project({"secure": locked}, config=f'[auth]\napikey = "{GLOBAL_KEY}"\n')
    client = await plughost_client(project)
    assert (await client.get("/secure")).status == 401
    assert (await client.get("/secure", headers={"X-API-Key": GLOBAL_KEY})).status == 200


# -- CORS -------------------------------------------------------------------

ORIGIN = "https://example.com"
CORS = f"""
[cors]
enabled = true
allow_origins = ["{ORIGIN}", "http://localhost:3000"]
allow_methods = ["GET", "POST"]
allow_headers = ["Content-Type", "X-API-Key"]
max_age = 120
"""


async def _cors_client(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, config: str = CORS
) -> TestClient[Any, Any]:
    return await plughost_client(plughost_project({"Example": EXAMPLE}, config=config))


async def test_cors_allowed_origin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await _cors_client(plughost_project, plughost_client)
    for origin in (ORIGIN, "http://localhost:3000"):
        resp = await client.get("/example", headers={"Origin": origin})
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert "Origin" in resp.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in resp.headers
    # Error responses carry the headers too, so the page can read them.
    resp = await client.get("/example", headers={"Origin": ORIGIN}, params={"request_headers": "x"})
    assert resp.status == 400
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "http://example.com",
        "https://example.com:8443",
        "https://example.com.evil.test",
        "https://evil.test/https://example.com",
        "https://sub.example.com",
        "HTTPS://EXAMPLE.COM.evil.test",
        "",
    ],
)
async def test_cors_denied_origin_gets_no_headers(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, origin: str
) -> None:
    client = await _cors_client(plughost_project, plughost_client)
    resp = await client.get("/example", headers={"Origin": origin})
    assert resp.status == 200
    assert not [h for h in resp.headers if h.lower().startswith("access-control-")]


async def test_cors_preflight(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await _cors_client(plughost_project, plughost_client)
    resp = await client.options(
        "/example",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in resp.headers["Vary"]
    assert resp.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert resp.headers["Access-Control-Allow-Headers"] == "Content-Type, X-API-Key"
    assert resp.headers["Access-Control-Max-Age"] == "120"

    for origin, method in (
        ("https://example.com.evil.test", "POST"),
        ("null", "GET"),
        ("http://example.com", "GET"),
        (ORIGIN, "DELETE"),
    ):
        resp = await client.options(
            "/example", headers={"Origin": origin, "Access-Control-Request-Method": method}
        )
        assert resp.status == 403, (origin, method)
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_cors_credentials(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    config = CORS.replace("max_age = 120", "max_age = 120\nallow_credentials = true")
    client = await _cors_client(plughost_project, plughost_client, config)
    resp = await client.get("/example", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    resp = await client.get("/example", headers={"Origin": "https://other.test"})
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_cors_wildcard_without_credentials(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    config = '[cors]\nenabled = true\nallow_origins = ["*"]\n'
    client = await _cors_client(plughost_project, plughost_client, config)
    resp = await client.get("/example", headers={"Origin": "https://anyone.test"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers


async def test_cors_disabled_adds_nothing(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    config = CORS.replace("enabled = true", "enabled = false")
    client = await _cors_client(plughost_project, plughost_client, config)
    resp = await client.get("/example", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in resp.headers


# -- background tasks -------------------------------------------------------

JOBS = """
import asyncio

from plughost import BasePlugin

GATE = asyncio.Event()


async def double(n, wait):
    if wait:
        await GATE.wait()
    await asyncio.sleep(0)
    return n * 2


async def fail():
    await asyncio.sleep(0)
    raise ValueError("the job went wrong")


async def forever():
    await asyncio.Event().wait()


RELEASE = asyncio.Event()


async def stubborn():
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        # Ignores the cancellation until the test releases it.
        await RELEASE.wait()
        return "released"


class Jobs(BasePlugin):
    route_path = "jobs"

    async def request_handler(self, **args):
        action = args.get("action")
        if action == "double":
            return {"id": self.tasks.start(double, int(args["n"]), args.get("wait") == "1")}
        if action == "fail":
            return {"id": self.tasks.start(fail())}
        if action == "forever":
            return {"id": self.tasks.start(forever)}
        if action == "stubborn":
            return {"id": self.tasks.start(stubborn)}
        if action == "open":
            GATE.set()
            return {"open": True}
        if action == "list":
            return {"ids": [info.id for info in self.tasks.list()]}
        info = self.tasks.get(args.get("id", ""))
        if info is None:
            return {"state": "unknown"}
        return info.as_dict()
"""


async def _task(client: TestClient[Any, Any], task_id: str) -> dict[str, Any]:
    resp = await client.get("/jobs", params={"id": task_id})
    assert resp.status == 200
    result: dict[str, Any] = await resp.json()
    return result


async def _wait_for_state(
    client: TestClient[Any, Any], task_id: str, *states: str
) -> dict[str, Any]:
    return await poll(lambda: _task(client, task_id), lambda info: info["state"] in states)


async def _start(client: TestClient[Any, Any], **params: str) -> str:
    resp = await client.get("/jobs", params=params)
    assert resp.status == 200
    task_id: str = (await resp.json())["id"]
    return task_id


async def test_task_started_by_one_request_is_read_by_a_later_one(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"jobs": JOBS}))
    task_id = await _start(client, action="double", n="21", wait="1")
    # The request that started it returned at once; the task waits for the gate.
    info = await _task(client, task_id)
    assert info["state"] in ("pending", "running")
    assert info["result"] is None
    assert info["finished_at"] is None
    await client.get("/jobs", params={"action": "open"})
    info = await _wait_for_state(client, task_id, "done")
    assert info["result"] == 42
    assert info["error"] is None
    assert info["plugin"] == "jobs"
    assert info["started_at"] <= info["finished_at"]


async def test_task_ids_are_unguessable(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"jobs": JOBS}))
    ids = [await _start(client, action="double", n=str(n)) for n in range(5)]
    assert len(set(ids)) == 5
    assert all(len(task_id) >= 16 for task_id in ids)
    assert await _task(client, ids[0][:-1] + ("A" if ids[0][-1] != "A" else "B")) == {
        "state": "unknown"
    }


async def test_failing_task(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await plughost_client(plughost_project({"jobs": JOBS}))
    with caplog.at_level(logging.WARNING):
        task_id = await _start(client, action="fail")
        info = await _wait_for_state(client, task_id, "failed", "done")
    assert info["state"] == "failed"
    assert info["error"] == "ValueError: the job went wrong"
    assert info["result"] is None
    assert info["finished_at"] is not None
    assert "the job went wrong" in caplog.text
    # The server is fine and so are other tasks.
    other = await _start(client, action="double", n="2")
    assert (await _wait_for_state(client, other, "done"))["result"] == 4


async def test_running_tasks_are_cancelled_at_shutdown(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"jobs": JOBS}, config="[server]\ntask_grace = 0.1")
    client = await plughost_client(project)
    host = host_of(client)
    forever = await _start(client, action="forever")
    quick = await _start(client, action="double", n="1")
    await _wait_for_state(client, forever, "running")
    await _wait_for_state(client, quick, "done")
    async with asyncio.timeout(5):
        await host.close()
    tasks = host.tasks.group("jobs")
    info = tasks.get(forever)
    assert info is not None
    assert info.state is TaskState.CANCELLED
    assert info.finished_at is not None
    done = tasks.get(quick)
    assert done is not None and done.state is TaskState.DONE
    assert host.tasks.running() == []


async def test_a_task_ignoring_cancellation_does_not_hang_shutdown(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"jobs": JOBS}, config="[server]\ntask_grace = 0.1")
    client = await plughost_client(project)
    host = host_of(client)
    module = host.versions["jobs"].module
    task_id = await _start(client, action="stubborn")
    await _wait_for_state(client, task_id, "running")
    try:
        async with asyncio.timeout(5):
            await host.close()
        info = host.tasks.group("jobs").get(task_id)
        assert info is not None
        assert info.state is TaskState.CANCELLED
        assert info.finished_at is not None
    finally:
        module.RELEASE.set()
        await poll(lambda: asyncio.sleep(0, host.tasks.running()), lambda running: not running)


async def test_tasks_finishing_within_the_grace_period_complete(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"jobs": JOBS}, config="[server]\ntask_grace = 5")
    client = await plughost_client(project)
    host = host_of(client)
    task_id = await _start(client, action="double", n="5", wait="1")
    await _wait_for_state(client, task_id, "running")

    async def open_gate_soon() -> None:
        await asyncio.sleep(0.05)
        await client.get("/jobs", params={"action": "open"})

    opener = asyncio.ensure_future(open_gate_soon())
    async with asyncio.timeout(5):
        await host.close()
        await opener
    info = host.tasks.group("jobs").get(task_id)
    assert info is not None
    assert info.state is TaskState.DONE
    assert info.result == 10


async def test_finished_results_are_bounded_per_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"jobs": JOBS}, config="[server]\ntask_grace = 0.1")
    client = await plughost_client(project)
    host_of(client).tasks.max_results = 3
    # One task still running is never evicted, however many finish after it.
    waiting = await _start(client, action="double", n="100", wait="1")
    finished = []
    for n in range(5):
        task_id = await _start(client, action="double", n=str(n))
        await _wait_for_state(client, task_id, "done")
        finished.append(task_id)
    resp = await client.get("/jobs", params={"action": "list"})
    assert (await resp.json())["ids"] == [waiting, *finished[-3:]]
    # The oldest results are gone; the newest are still there.
    for task_id in finished[:2]:
        assert await _task(client, task_id) == {"state": "unknown"}
    for n, task_id in list(enumerate(finished))[2:]:
        assert (await _task(client, task_id))["result"] == n * 2
    # Other plugins have bounds of their own.
    assert host_of(client).tasks.group("another").list() == []


async def test_task_results_outlive_a_reload_of_their_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"jobs": JOBS}))
    host = host_of(client)
    task_id = await _start(client, action="double", n="4")
    await _wait_for_state(client, task_id, "done")
    before = host.versions["jobs"]
    result = await host.load("jobs")
    assert result.ok, result.error
    assert host.versions["jobs"] is not before
    assert (await _task(client, task_id))["result"] == 8


async def test_access_log_never_shows_a_query_key(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    project = plughost_project(
        {"secure": SECURE},
        enabled=[],
        config=f"""
[auth]
apikey = "{GLOBAL_KEY}"
allow_query_key = true

[plugins.secure]
enabled = true
auth_type = "global"
""",
    )
    client = await plughost_client(project)
    queries = [
        f"apikey={GLOBAL_KEY}",
        f"api%6Bey={GLOBAL_KEY}",
        f"q=1&APIKEY={GLOBAL_KEY}",
        "apikey=wrong-key-789",
    ]
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        statuses = [(await client.get(f"/secure?{query}")).status for query in queries]
        # A request whose body was read is logged too (aiohttp cannot clone those).
        statuses.append((await client.post(f"/secure?{queries[0]}", json={"a": 1})).status)
        statuses.append((await client.post(f"/secure?{queries[3]}", data={"a": "1"})).status)
        await poll(
            lambda: asyncio.sleep(0, caplog.text.count("/secure?")),
            lambda count: count == len(queries) + 2,
        )
    assert statuses == [200, 200, 401, 401, 200, 401]
    assert GLOBAL_KEY not in caplog.text
    assert "wrong-key-789" not in caplog.text
