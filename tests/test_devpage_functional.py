"""The live page at /_plughost/ through a real server, real files and real watchfiles events."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp
import pytest
from _support import edit_and_wait
from _workers import serve_workers
from aiohttp.test_utils import TestClient

from plughost.cli.summary import print_summary
from plughost.devpage.events import HISTORY
from plughost.devpage.page import render_page
from plughost.host import PluginState
from plughost.params import redacted
from plughost.testing import ClientFactory, Project, ProjectFactory, host_of, wait_for_load

HELLO = """
import plughost

@plughost.route("/hello")
async def hello():
    return {"version": VERSION}

@plughost.route("/hello/{who}")
async def hello_who(who):
    return {"who": who}

VERSION = 1
"""

BROKEN = """
import plughost

@plughost.route("/hello")
async def hello(:
    return {"version": 3}
"""

RAISES = """
import plughost

def helper():
    raise RuntimeError("no database configured")

helper()
"""

SECRET_PARAMS = """
from dataclasses import dataclass
import plughost

@dataclass
class Params:
    greeting: str = "Hello"
    api_token: str = ""

def setup(host):
    @host.route("/greet")
    async def greet():
        return {"greeting": host.params.greeting}
"""


def version(n: int) -> str:
    return HELLO.replace("VERSION = 1", f"VERSION = {n}")


# Reload tests run as a user's Python does: writing .pyc files.
pytestmark = pytest.mark.usefixtures("writes_bytecode")


async def page(client: TestClient[Any, Any]) -> str:
    response = await client.get("/_plughost/")
    assert response.status == 200
    assert response.content_type == "text/html"
    text: str = await response.text()
    return text


async def test_page_lists_every_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project(
        {"hello": version(1), "greet": SECRET_PARAMS, "idle": version(1)},
        enabled=["hello", "greet"],
        disabled=["idle"],
        params={"greet": {"greeting": "Hi", "api_token": "s3cret-value"}},
    )
    client = await plughost_client(project)
    html = await page(client)
    assert "<title>plughost: 3 plugins</title>" in html
    for name in ("hello", "greet", "idle"):
        assert f'id="plugin-{name}"' in html
    assert '<span class="state state-loaded">loaded</span>' in html
    assert '<span class="state state-disabled">disabled</span>' in html
    assert '<a href="/hello"><code>GET /hello</code></a>' in html
    assert "<code>GET /hello/{who}</code>" in html
    assert "greeting = &quot;Hi&quot;" in html
    assert "api_token = &quot;***&quot;" in html
    assert "s3cret-value" not in html
    assert "Last load took" in html
    assert html.count('<tr class="outcome-loaded">') == 2


async def test_status_keeps_its_shape_and_adds_routes_and_params(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project(
        {"greet": SECRET_PARAMS}, params={"greet": {"api_token": "s3cret-value"}}
    )
    client = await plughost_client(project)
    body = await (await client.get("/_plughost/status")).json()
    greet = body["plugins"]["greet"]
    assert {"state", "version", "loaded_at", "error"} <= greet.keys()
    assert greet["routes"] == [{"method": "GET", "rule": "/greet"}]
    assert greet["params"] == {"api_token": "***"}
    assert greet["failure"] is None
    assert greet["load_ms"] > 0


async def test_broken_edit_shows_where_while_old_version_serves(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "hello.py"
    await edit_and_wait(client, path, version(2), "hello", ok=True)

    result = await edit_and_wait(client, path, BROKEN, "hello", ok=False)
    assert not result.ok
    assert await (await client.get("/hello")).json() == {"version": 2}
    html = await page(client)
    assert "The last edit failed: version 2 keeps serving" in html
    assert f'<code title="{path}:5">plugins/hello.py:5</code>' in html
    assert "SyntaxError" in html
    assert '<mark aria-label="line 5, where it failed"><span class="number">5</span>' in html
    assert "async def hello(:" in html
    assert '<tr class="outcome-refused">' in html
    status = (await (await client.get("/_plughost/status")).json())["plugins"]["hello"]
    assert status["failure"]["path"] == str(path)
    assert status["failure"]["line"] == 5
    assert {"line": 5, "text": "async def hello(:"} in status["failure"]["source"]

    await edit_and_wait(client, path, version(3), "hello", ok=True)
    html = await page(client)
    assert "keeps serving" not in html
    assert '<span class="version" data-version="3">v3</span>' in html
    assert '<tr class="outcome-reloaded">' in html


async def test_exception_at_import_shows_the_traceback(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": RAISES})
    client = await plughost_client(project)
    html = await page(client)
    assert "Failed to load: nothing serving" in html
    assert "RuntimeError: no database configured" in html
    path = project.plugins_dir / "hello.py"
    assert f'<code title="{path}:5">plugins/hello.py:5</code>' in html
    assert '<pre class="traceback"' in html
    assert "in helper" in html
    assert '<tr class="outcome-failed">' in html


async def test_deleted_plugin_shows_as_missing(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    waiter = asyncio.create_task(wait_for_load(host_of(client), "hello", ok=False))
    await asyncio.sleep(0)
    (project.plugins_dir / "hello.py").unlink()
    await waiter
    html = await page(client)
    assert '<span class="state state-missing">missing</span>' in html
    assert "The plugin&#x27;s file is missing: nothing serving" in html
    assert '<tr class="outcome-missing"><td>' in html
    assert (await client.get("/hello")).status == 404


async def read_event(stream: aiohttp.StreamReader) -> dict[str, Any]:
    """The next ``plugin`` event on a server-sent event stream."""
    event: dict[str, str] = {}
    while True:
        line = (await stream.readline()).decode()
        assert line, "the stream ended"
        line = line.rstrip("\n")
        if not line:
            if event.get("event") == "plugin":
                data: dict[str, Any] = json.loads(event["data"])
                return data
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            event[field] = value


async def test_events_stream_each_change(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    response = await client.get("/_plughost/events")
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    assert (await response.content.readline()).startswith(b"retry: ")
    path = project.plugins_dir / "hello.py"
    async with asyncio.timeout(20):
        path.write_text(version(2))
        event = await read_event(response.content)
        assert (event["plugin"], event["outcome"], event["version"]) == ("hello", "reloaded", 2)
        assert event["load_ms"] > 0

        path.write_text(BROKEN)
        event = await read_event(response.content)
        assert (event["outcome"], event["version"]) == ("refused", 2)
        assert "SyntaxError" in event["error"]

        project.config_path.write_text(
            project.config_path.read_text().replace("enabled = true", "enabled = false")
        )
        event = await read_event(response.content)
        assert (event["plugin"], event["outcome"]) == ("hello", "disabled")
    assert host_of(client).status()["hello"].state is PluginState.DISABLED

    await host_of(client).shutdown()
    async with asyncio.timeout(10):
        assert await response.content.read() == b""


async def test_history_keeps_the_last_fifty(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project)
    for _ in range(HISTORY + 5):
        assert (await host_of(client).load("hello")).ok
    html = await page(client)
    assert html.count('<tr class="outcome-reloaded">') == HISTORY
    assert f"v{HISTORY + 6}</td>" in html
    assert "<td>v1</td>" not in html


async def test_static_files_ship_in_the_package(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"hello": version(1)}))
    for name, kind in (
        ("page.css", "text/css"),
        ("page.js", "text/javascript"),
        ("livereload.js", "text/javascript"),
    ):
        response = await client.get(f"/_plughost/static/{name}")
        assert response.status == 200, name
        assert response.content_type == kind
        assert len(await response.read()) > 100
    assert (await client.get("/_plughost/static/nothing.js")).status == 404
    redirect = await client.get("/_plughost", allow_redirects=False)
    assert (redirect.status, redirect.headers["Location"]) == (308, "/_plughost/")


async def test_page_follows_the_status_endpoints_access_rule(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    """Every /_plughost/ path answers as the status endpoint does: a page naming another
    host (DNS rebinding) or a request through a proxy is refused, unless it has the key."""
    project: Project = plughost_project(
        {"hello": version(1)}, config='[auth]\napikey = "the-key"\n'
    )
    client = await plughost_client(project)
    paths = ["status", "", "static/page.css", "static/livereload.js", "events"]
    seen = set()
    for headers in (
        {},
        {"Host": "attacker.example"},
        {"Host": "attacker.example", "X-API-Key": "the-key"},
        {"X-Forwarded-For": "203.0.113.9"},
        {"X-Forwarded-For": "203.0.113.9", "X-API-Key": "wrong"},
    ):
        codes = []
        for path in paths:
            async with client.get("/_plughost/" + path, headers=headers) as response:
                codes.append(response.status)
        assert len(set(codes)) == 1, (headers, codes)
        seen.add(codes[0])
    assert seen == {200, 403}


@pytest.mark.parametrize("access", ["loopback", "off"])
async def test_run_names_the_page_unless_it_is_off(
    access: str,
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = plughost_project({"hello": version(1)}, config=f'[server]\nstatus = "{access}"\n')
    client = await plughost_client(project)
    print_summary(host_of(client), "http://127.0.0.1:8080", reload=True)
    printed = "Live page: http://127.0.0.1:8080/_plughost/" in capsys.readouterr().out
    assert printed == (access != "off")
    assert (await client.get("/_plughost/")).status == (200 if access != "off" else 403)


def test_redacted_hides_secret_sounding_params() -> None:
    shown = redacted(
        {"greeting": "hi", "api_key": "a", "Password": "b", "db": {"token": "c", "host": "d"}}
    )
    assert shown == {
        "greeting": "hi",
        "api_key": "***",
        "Password": "***",
        "db": {"token": "***", "host": "d"},
    }


def test_page_shows_each_workers_version_and_a_mismatch() -> None:
    """A status document merged from two workers, as ``plughost run --workers 2`` serves it."""
    worker = {"state": "loaded", "version": 3, "digest": "a", "error": None}
    plugin = {"state": "loaded", "version": 3, "routes": [], "params": {}, "error": None}
    document = {
        "config": "/srv/blog/plughost.toml",
        "plugins": {
            "same": {**plugin, "workers": {"101": worker, "102": worker}, "mismatch": False},
            "split": {
                **plugin,
                "workers": {"101": worker, "102": {**worker, "version": 2, "digest": "b"}},
                "mismatch": True,
            },
        },
    }
    html = render_page(document, [])
    same = html[html.index('id="plugin-same"') : html.index('id="plugin-split"')]
    split = html[html.index('id="plugin-split"') :]
    assert "<li>pid 101: v3, loaded</li><li>pid 102: v3, loaded</li>" in same
    assert "do not all serve the same version" not in same
    assert "<li>pid 102: v2, loaded</li>" in split
    assert "The workers do not all serve the same version." in split


async def test_page_of_a_server_with_two_workers_shows_both(
    plughost_project: ProjectFactory,
) -> None:
    project = plughost_project({"hello": version(1)})
    async with serve_workers(project.config_path) as server:
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/_plughost/") as response:
                assert response.status == 200
                html = await response.text()
    listed = re.findall(r"<li>pid (\d+): v1, loaded</li>", html)
    assert len(set(listed)) == 2, html
    assert "do not all serve the same version" not in html
