"""Promises that a mutation run showed no test guarded: each test here kills one such bug."""

from __future__ import annotations

import hmac
import sys
from typing import Any

import pytest

from plughost.testing import ClientFactory, ProjectFactory, host_of

OWNER = """
import asyncio
import plughost

TASKS = None

def setup(plugin):
    global TASKS
    TASKS = plugin.tasks

@plughost.route("/start")
async def start():
    async def work():
        return "owner's result"
    return {"id": TASKS.start(work)}

@plughost.route("/mine")
async def mine(id):
    await asyncio.sleep(0)
    info = await TASKS.aget(id)
    return {"state": info.state.value if info else None}
"""

SNOOP = """
import plughost

TASKS = None

def setup(plugin):
    global TASKS
    TASKS = plugin.tasks

@plughost.route("/peek")
async def peek(id):
    info = await TASKS.aget(id)
    return {
        "seen": info is not None or TASKS.get(id) is not None,
        "listed": [t.id for t in await TASKS.alist()] + [t.id for t in TASKS.list()],
    }
"""


async def test_a_plugin_cannot_read_another_plugins_task(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"owner": OWNER, "snoop": SNOOP}))
    task_id = (await (await client.get("/start")).json())["id"]
    for _ in range(100):
        state = (await (await client.get("/mine", params={"id": task_id})).json())["state"]
        if state == "done":
            break
    assert state == "done"
    peek = await (await client.get("/peek", params={"id": task_id})).json()
    assert peek == {"seen": False, "listed": []}


GOOD = """
import plughost

@plughost.route("/v")
async def v():
    return {"v": 1}
"""


@pytest.mark.parametrize(
    "broken",
    [
        "raise RuntimeError('at import')\n",
        "def setup(plugin):\n    raise RuntimeError('in setup')\n",
        "import plughost\n\n@plughost.route('/v')\nasync def v():\n    return 2\n"
        "\n@plughost.route('/v')\nasync def clash():\n    return 3\n",
    ],
    ids=["import", "setup", "route-conflict"],
)
async def test_a_failed_reload_leaves_the_live_module_in_sys_modules(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, broken: str
) -> None:
    project = plughost_project({"good": GOOD})
    client = await plughost_client(project)
    host = host_of(client)
    live = host.versions["good"].module
    assert sys.modules[live.__name__] is live
    (project.plugins_dir / "good.py").write_text(broken)
    result = await host.load("good")
    assert not result.ok
    assert sys.modules[live.__name__] is live
    assert host.versions["good"].module is live
    assert await (await client.get("/v")).json() == {"v": 1}


CLOSING = """
import plughost

CALLS = []

def setup(plugin):
    plugin.on_close(lambda: CALLS.append("on_close"), "counter")

def close():
    CALLS.append("close")

@plughost.route("/calls")
async def calls():
    return CALLS
"""


async def test_closers_run_once_however_often_close_is_called(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"closing": CLOSING}))
    host = host_of(client)
    version = host.versions["closing"]
    calls: list[str] = version.module.CALLS
    await version.handle.aclose()
    await version.handle.aclose()
    await host.close()
    await host.close()
    assert calls == ["on_close", "close"]


KEYED = """
import plughost

@plughost.route("/secret", auth="global")
async def secret():
    return {"ok": True}
"""


async def test_keys_are_compared_in_constant_time(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The comparison is hmac.compare_digest (timing is measured in bench/, not here)."""
    compared: list[Any] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client = await plughost_client(plughost_project({"k": KEYED}, config='[auth]\napikey = "k1"\n'))
    assert (await client.get("/secret", headers={"X-API-Key": "k2"})).status == 401
    assert (await client.get("/secret", headers={"X-API-Key": "k1"})).status == 200
    assert (b"k2", b"k1") in compared
    assert (b"k1", b"k1") in compared


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_bearer_scheme_is_case_insensitive(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, scheme: str
) -> None:
    """RFC 7235: the auth scheme is case-insensitive."""
    client = await plughost_client(plughost_project({"k": KEYED}, config='[auth]\napikey = "k1"\n'))
    resp = await client.get("/secret", headers={"Authorization": f"{scheme} k1"})
    assert resp.status == 200


async def test_an_emptied_file_never_loads(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"good": GOOD})
    client = await plughost_client(project)
    host = host_of(client)
    (project.plugins_dir / "good.py").write_text("")
    result = await host.load("good")
    assert not result.ok
    assert "the file is empty" in str(result.error)
    assert await (await client.get("/v")).json() == {"v": 1}


NONE_AUTH = """
import plughost

@plughost.route("/open", method=["GET", "POST"], auth="none")
async def open_route(**kwargs):
    return sorted(k for k in kwargs if k != "request_headers")
"""


async def test_a_route_with_auth_none_needs_no_key_and_never_sees_one(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(
        plughost_project({"o": NONE_AUTH}, config='[auth]\napikey = "k1"\n')
    )
    resp = await client.get("/open")
    assert (resp.status, await resp.json()) == (200, [])
    resp = await client.post("/open", data={"apikey": "whatever", "a": "1"})
    assert (resp.status, await resp.json()) == (200, ["a"])
