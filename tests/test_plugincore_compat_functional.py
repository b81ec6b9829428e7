"""plugincore's own plugins, unchanged but for the import line, answer on plughost as on plugincore.

The files in tests/compat/plugincore/plugins are plugincore's bundled ``systeminfo`` and
``sessman`` plugins and the Netinfo example of its docs (see the README there). One
plugincore INI is served twice: by plugincore's own server (``pserve``, from the
pluginserver 0.10.5 package, in a subprocess on loopback) with the original import line,
and by plughost, configured by ``plughost import-config`` from the same INI. Each test
asks both the same thing and compares; where plughost deliberately differs
(docs/migrating.md says so), the test shows both answers.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from plughost.cli.commands import cli
from plughost.testing import ClientFactory, host_of

COMPAT = Path(__file__).resolve().parent / "compat" / "plugincore"
PLUGINS = ("systeminfo", "sessman", "netinfo")
#: a plugin written for this test, to show where plugincore and plughost differ
QUIRKS = """\
from plugincore.baseplugin import BasePlugin


class Quirks(BasePlugin):
    async def request_handler(self, **args):
        what = args.get("subpath")
        if what == "text":
            return 200, "plain words"
        if what == "raise":
            raise RuntimeError("boom")
        if what == "ip":
            return 200, {"client_ip": args["client_ip"]}
        if what == "config":
            return 200, {"paths": hasattr(self.config, "paths"),
                         "plugins_dir": hasattr(self.config, "plugins_dir")}
        return 200, {"q": args.get("q"), "log": str(args.get("log"))[:5]}
"""
PLUGHOST_IMPORT = "from plughost import BasePlugin\n"
PLUGINCORE_IMPORT = "from plugincore.baseplugin import BasePlugin\n"
APIKEY = "deadbeef"

INI = """\
[network]
bindto=127.0.0.1
port=int:{port}

[paths]
plugins=plugins

[plugin_parms]
sessman=json=sessman.json
netinfo=auth_type=global

[auth]
apikey={apikey}
"""


def _write_site(folder: Path, port: int, import_line: str) -> Path:
    """A plugincore site: pserve.ini, and plugins/ with the three plugins and sessman.json."""
    plugins = folder / "plugins"
    plugins.mkdir(parents=True)
    for name in PLUGINS:
        source = (COMPAT / "plugins" / f"{name}.py").read_text(encoding="utf-8")
        assert source.count(PLUGHOST_IMPORT) == 1
        (plugins / f"{name}.py").write_text(source.replace(PLUGHOST_IMPORT, import_line))
    (plugins / "quirks.py").write_text(QUIRKS.replace(PLUGINCORE_IMPORT, import_line))
    settings = {"backend": "sqlite", "database": str(folder / "sessions.db"), "session_ttl": 600}
    (plugins / "sessman.json").write_text(json.dumps(settings))
    ini = folder / "pserve.ini"
    ini.write_text(INI.format(port=port, apikey=APIKEY))
    return ini


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Answer:
    status: int
    body: Any
    cookies: dict[str, str]


async def _answer(response: aiohttp.ClientResponse) -> Answer:
    text = await response.text()
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    cookies = {
        name: morsel.value for name, morsel in response.cookies.items() if morsel.value is not None
    }
    return Answer(response.status, body, cookies)


@dataclass
class Sites:
    """The same site served by plugincore and by plughost."""

    plugincore: aiohttp.ClientSession
    plughost: Any  # an aiohttp TestClient

    async def ask(self, method: str, path: str, **kwargs: Any) -> tuple[Answer, Answer]:
        async with self.plugincore.request(method, path, **kwargs) as response:
            theirs = await _answer(response)
        ours = await _answer(await self.plughost.request(method, path, **kwargs))
        return theirs, ours


@pytest.fixture(scope="module")
def pserve_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """plugincore's own server for the site, on a loopback port, for this module's tests."""
    port = _free_port()
    ini = _write_site(tmp_path_factory.mktemp("plugincore"), port, PLUGINCORE_IMPORT)
    url = f"http://127.0.0.1:{port}"
    log_path = ini.parent / "pserve.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "plugincore.pserv", "-i", ini.name, "-v", "ERROR"]
        process = subprocess.Popen(command, cwd=ini.parent, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    with urllib.request.urlopen(f"{url}/plugins", timeout=2):
                        break
                except urllib.error.HTTPError:
                    break  # it answers (a 403: /plugins wants the key)
                except OSError:
                    assert time.monotonic() < deadline, "pserve did not answer within 30 s"
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
async def pserve(pserve_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(pserve_url) as session:
        yield session


@pytest.fixture
async def sites(
    tmp_path: Path, pserve: aiohttp.ClientSession, plughost_client: ClientFactory
) -> Sites:
    ini = _write_site(tmp_path / "plughost", 8080, PLUGHOST_IMPORT)
    config = ini.parent / "plughost.toml"
    result = CliRunner().invoke(cli, ["--config", str(config), "import-config", str(ini)])
    assert result.exit_code == 0, result.output
    return Sites(pserve, await plughost_client(config))


async def test_import_config_enables_every_plugin_in_the_folder(sites: Sites) -> None:
    every = sorted((*PLUGINS, "quirks"))
    assert sorted(p.name for p in host_of(sites.plughost).config.enabled) == every
    theirs, ours = await sites.ask("GET", "/plugins", headers={"X-Custom-Auth": APIKEY})
    assert sorted(theirs.body["loaded_plugins"]) == every
    # plugincore's control routes are not plughost's: its status endpoint lists them
    assert ours.status == 404
    status = await (await sites.plughost.get("/_plughost/status")).json()
    assert sorted(status["plugins"]) == every


# -- systeminfo -----------------------------------------------------------------------


async def test_systeminfo_subpath_answers_the_same(sites: Sites) -> None:
    theirs, ours = await sites.ask("GET", "/systeminfo/info")
    assert theirs.status == ours.status == 200
    assert ours.body == theirs.body
    assert set(ours.body) == {"machine", "sysname", "version", "release", "nodename"}


async def test_systeminfo_whole_report_has_the_same_shape_and_stable_values(sites: Sites) -> None:
    theirs, ours = await sites.ask("GET", "/systeminfo")
    assert theirs.status == ours.status == 200
    assert list(ours.body) == list(theirs.body)
    assert list(ours.body) == ["error", "net", "cpu", "uptime", "disk", "upgrades", "ram", "info"]
    for stable in ("error", "disk", "upgrades", "info"):
        assert ours.body[stable] == theirs.body[stable], stable
    for key in ("cpu_model", "cpu_count"):
        assert ours.body["cpu"][key] == theirs.body["cpu"][key]
    assert list(ours.body["cpu"]) == list(theirs.body["cpu"])
    assert list(ours.body["ram"]) == list(theirs.body["ram"])
    addresses = [(i["iface"], i["address"]) for i in ours.body["net"]]
    assert addresses == [(i["iface"], i["address"]) for i in theirs.body["net"]]


async def test_systeminfo_unknown_subpath_same_body_plughost_sends_the_status(
    sites: Sites,
) -> None:
    theirs, ours = await sites.ask("GET", "/systeminfo/bogus")
    assert ours.body == theirs.body == {"Error": "bogus is not a member of response_data"}
    # plugincore 0.10.5 drops the status of a (404, dict) tuple and sends 200.
    assert (theirs.status, ours.status) == (200, 404)


# -- Netinfo (the docs' complex example) ---------------------------------------------


async def test_netinfo_needs_the_global_key(sites: Sites) -> None:
    theirs, ours = await sites.ask("GET", "/netinfo")
    assert theirs.body == {"error": "unauthorized"}
    # plugincore answers a missing key with 200; plughost with 401.
    assert (theirs.status, ours.status) == (200, 401)
    theirs, ours = await sites.ask("GET", "/netinfo", headers={"X-Custom-Auth": "wrong"})
    assert (theirs.status, theirs.body, ours.status) == (200, {"error": "unauthorized"}, 401)


@pytest.mark.parametrize(
    "headers",
    [{"X-Custom-Auth": APIKEY}, {"Authorization": f"Bearer {APIKEY}"}],
    ids=["x-custom-auth", "bearer"],
)
async def test_netinfo_lists_the_interfaces(sites: Sites, headers: dict[str, str]) -> None:
    theirs, ours = await sites.ask("GET", "/netinfo", headers=headers)
    assert theirs.status == ours.status == 200
    # plugincore 0.10.5 sends a list as {"result": str(list)}; plughost sends the list.
    assert list(theirs.body) == ["result"]
    _same_interfaces(ours.body, ast.literal_eval(theirs.body["result"]))


_RATE = re.compile(r"n/a|[0-9.]+[kmg]?bps")


def _same_interfaces(ours: list[dict[str, str]], theirs: list[dict[str, str]]) -> None:
    """The same interfaces and addresses; rates are measured, so only their form is compared."""
    assert ours and [(i["iface"], i["address"]) for i in ours] == [
        (i["iface"], i["address"]) for i in theirs
    ]
    for item in (*ours, *theirs):
        assert set(item) == {"iface", "address", "tx", "rx"}
        assert _RATE.fullmatch(item["tx"]) and _RATE.fullmatch(item["rx"]), item


async def test_netinfo_takes_the_key_from_a_post_body(sites: Sites) -> None:
    body = json.dumps({"apikey": APIKEY})
    theirs, ours = await sites.ask(
        "POST", "/netinfo", data=body, headers={"Content-Type": "application/json"}
    )
    assert theirs.status == ours.status == 200
    _same_interfaces(ours.body, ast.literal_eval(theirs.body["result"]))


# -- sessman ------------------------------------------------------------------------


def _session_id(answer: Answer) -> str:
    session_id: str = answer.body["session_id"]
    assert str(uuid.UUID(session_id)) == session_id
    assert answer.cookies == {"PS_SESSID": session_id}
    return session_id


async def _sessman_flow(client: Any, post: Any) -> list[tuple[int, Any]]:
    """plugincore's JavaScript Session class, step by step: new, update, get."""
    js = {"Content-Type": "text/javascript"}
    created = await post(client, "/sessman/new?user=ann", json.dumps({"data": {"n": 1}}), js)
    session_id = _session_id(created)
    steps: list[tuple[int, Any]] = [(created.status, sorted(created.body))]
    updated = await post(
        client, f"/sessman/update?session_id={session_id}", json.dumps({"data": {"n": 2}}), js
    )
    steps.append((updated.status, updated.body))
    by_cookie = await post(client, "/sessman/get", "", {"Cookie": f"PS_SESSID={session_id}"})
    steps.append((by_cookie.status, by_cookie.body))
    for answer in (updated, by_cookie):
        assert answer.body["session_id"] == session_id
        answer.body["session_id"] = "<id>"
    return steps


async def _post(client: Any, path: str, body: str, headers: dict[str, str]) -> Answer:
    response = await client.post(path, data=body, headers=headers)
    try:
        return await _answer(response)
    finally:
        response.release()


async def test_sessman_sessions_work_the_same(sites: Sites) -> None:
    theirs = await _sessman_flow(sites.plugincore, _post)
    ours = await _sessman_flow(sites.plughost, _post)
    assert ours == theirs
    assert ours == [
        (200, ["session_id"]),
        (200, {"session_id": "<id>", "data": {"n": 2}}),
        (200, {"session_id": "<id>", "data": {"n": 2}}),
    ]


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (
            "/sessman/get?session_id=nope",
            404,
            {"error": "Session ID nope not found.", "locus": "sessman.get"},
        ),
        ("/sessman/bogus", 400, {"error": "bogus is not a valid endpoint"}),
        ("/sessman", 400, {"error": "None is not a valid endpoint"}),
        ("/sessman/update", 400, {"error": "no session id available", "locus": "sessman.update"}),
    ],
)
async def test_sessman_errors_are_the_same(
    sites: Sites, path: str, status: int, body: dict[str, str]
) -> None:
    theirs, ours = await sites.ask("GET", path)
    assert (ours.status, ours.body) == (theirs.status, theirs.body) == (status, body)


async def test_sessman_vacuum_task_stops_when_plughost_stops(sites: Sites) -> None:
    def vacuums() -> list[asyncio.Task[Any]]:
        return [
            task
            for task in asyncio.all_tasks()
            if task.get_name() == "vacuum_thread:electrolux" and not task.done()
        ]

    assert len(vacuums()) == 1  # started by sessman's initialize()
    await host_of(sites.plughost).close()  # terminate_plugin() clears its run flag
    async with asyncio.timeout(10):
        while vacuums():
            await asyncio.sleep(0.05)


# -- where plughost deliberately differs (docs/migrating.md) ---------------------------


async def test_a_str_is_text_plain_not_text_html(sites: Sites) -> None:
    async with sites.plugincore.get("/quirks/text") as response:
        theirs = (response.status, response.content_type, await response.text())
    response = await sites.plughost.get("/quirks/text")
    ours = (response.status, response.content_type, await response.text())
    assert (theirs, ours) == (
        (200, "text/html", "plain words"),
        (200, "text/plain", "plain words"),
    )


async def test_an_exception_is_a_500_not_a_200_naming_it(sites: Sites) -> None:
    theirs, ours = await sites.ask("GET", "/quirks/raise")
    assert (theirs.status, theirs.body["status"], theirs.body["type"]) == (
        200,
        "exception",
        "RuntimeError",
    )
    assert (ours.status, ours.body) == (500, {"error": "Internal Server Error", "status": 500})


async def test_x_forwarded_for_from_anyone_is_not_believed(sites: Sites) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9"}
    theirs, ours = await sites.ask("GET", "/quirks/ip", headers=headers)
    assert (theirs.body, ours.body) == ({"client_ip": "203.0.113.9"}, {"client_ip": "127.0.0.1"})


async def test_the_body_overrides_the_query_string(sites: Sites) -> None:
    theirs, ours = await sites.ask("POST", "/quirks?q=query", json={"q": "body"})
    assert (theirs.body["q"], ours.body["q"]) == ("query", "body")


async def test_a_value_named_like_a_host_arg_is_refused(sites: Sites) -> None:
    theirs, ours = await sites.ask("GET", "/quirks?log=forged")
    assert (theirs.status, theirs.body["log"]) == (200, "forge")
    assert (ours.status, ours.body["error"]) == (
        400,
        "'log' is supplied by the host and cannot be sent as input",
    )


async def test_self_config_is_the_plughost_config(sites: Sites) -> None:
    theirs, ours = await sites.ask("GET", "/quirks/config")
    assert (theirs.body, ours.body) == (
        {"paths": True, "plugins_dir": False},
        {"paths": False, "plugins_dir": True},
    )
