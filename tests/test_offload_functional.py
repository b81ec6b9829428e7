"""Sync endpoints: on the event loop once they prove quick, in worker threads once they block."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from plughost.request.offload import TRIAL_CALLS
from plughost.testing import (
    ClientFactory,
    Project,
    ProjectFactory,
    host_of,
    reloader_of,
    wait_for_load,
)

MAIN = "MainThread"

SYNC = """
import threading
import time

import plughost

released = threading.Event()


@plughost.route("/work")
def work(sleep: str = "", wait: str = ""):
    if wait:
        # Waits for another request: on the event loop this could never return.
        return {"released": released.wait(10), "thread": threading.current_thread().name}
    if sleep:
        time.sleep(float(sleep))
    return {"thread": threading.current_thread().name}


@plughost.route("/release")
async def release():
    released.set()
    return {"released": True}


@plughost.route("/forced", sync_to_thread=True)
def forced():
    return {"thread": threading.current_thread().name}
"""

ERRORS = """
import threading

import plughost


@plughost.route("/fails")
def fails(kind: str):
    if kind == "bad":
        raise plughost.BadRequest("kind=bad is refused")
    raise ValueError("boom")
"""

THREAD_LOCAL = """
import sqlite3
import threading

import plughost

local = threading.local()


@plughost.route("/count")
def count():
    # A connection refuses to be used from another thread than its creator's, so
    # each thread keeps its own: the usual pattern for sync database code.
    if not hasattr(local, "db"):
        local.db = sqlite3.connect(":memory:")
        local.db.execute("create table hits (n integer)")
    local.db.execute("insert into hits values (1)")
    (hits,) = local.db.execute("select count(*) from hits").fetchone()
    return {"thread": threading.current_thread().name, "hits": hits}
"""

BASEPLUGIN = """
import threading

from plughost import BasePlugin


class Quick(BasePlugin):
    route_path = "quick"

    def request_handler(self, **args):
        return {"thread": threading.current_thread().name}


class Threaded(BasePlugin):
    route_path = "threaded"
    sync_to_thread = True

    def request_handler(self, **args):
        return {"thread": threading.current_thread().name}
"""


async def threads(client: Any, path: str, calls: int) -> list[str]:
    names = []
    for _ in range(calls):
        resp = await client.get(path)
        assert resp.status == 200, await resp.text()
        names.append((await resp.json())["thread"])
    return names


async def test_a_quick_sync_endpoint_runs_on_the_loop_after_its_trial(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"sync": SYNC}))
    names = await threads(client, "/work", TRIAL_CALLS + 4)
    assert MAIN not in names[:TRIAL_CALLS]
    assert names[TRIAL_CALLS:] == [MAIN] * 4


async def test_a_blocking_call_moves_the_route_off_the_loop_for_good(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await plughost_client(plughost_project({"sync": SYNC}))
    assert (await threads(client, "/work", TRIAL_CALLS + 1))[-1] == MAIN
    with caplog.at_level(logging.WARNING, logger="plughost.request"):
        resp = await client.get("/work", params={"sleep": "0.05"})
    # That one call blocked the loop; it is the last one that does.
    assert (await resp.json())["thread"] == MAIN
    assert "it runs in worker threads from now on" in caplog.text
    assert "GET /work" in caplog.text
    assert MAIN not in await threads(client, "/work", 5)
    async with asyncio.timeout(10):
        waiting = asyncio.ensure_future(client.get("/work", params={"wait": "1"}))
        await asyncio.sleep(0.05)
        assert (await client.get("/release")).status == 200
        body = await (await waiting).json()
    assert body["released"] is True and body["thread"] != MAIN


async def test_an_endpoint_that_blocks_in_its_trial_never_runs_on_the_loop(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"sync": SYNC}))
    async with asyncio.timeout(10):
        waiting = asyncio.ensure_future(client.get("/work", params={"wait": "1"}))
        await asyncio.sleep(0.05)
        # The loop answers while the first call waits in its worker thread.
        assert (await client.get("/release")).status == 200
        assert (await (await waiting).json())["released"] is True
    assert MAIN not in await threads(client, "/work", TRIAL_CALLS + 4)


async def test_sync_to_thread_on_a_route_and_on_a_baseplugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"sync": SYNC, "endpoints": BASEPLUGIN}))
    calls = TRIAL_CALLS + 4
    assert MAIN not in await threads(client, "/forced", calls)
    assert MAIN not in await threads(client, "/threaded", calls)
    assert (await threads(client, "/quick", calls))[-4:] == [MAIN] * 4


async def test_server_sync_to_thread_puts_every_sync_endpoint_in_threads(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project(
        {"sync": SYNC, "endpoints": BASEPLUGIN}, config="[server]\nsync_to_thread = true\n"
    )
    client = await plughost_client(project)
    calls = TRIAL_CALLS + 4
    assert MAIN not in await threads(client, "/work", calls)
    assert MAIN not in await threads(client, "/quick", calls)


async def test_a_bad_sync_to_thread_value_fails_the_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    source = SYNC.replace("sync_to_thread=True", 'sync_to_thread="yes"')
    client = await plughost_client(plughost_project({"sync": source}))
    status = host_of(client).status()["sync"]
    assert status.error is not None
    assert "sync_to_thread='yes'" in status.error and "/forced" in status.error


async def test_exceptions_answer_the_same_in_threads_and_on_the_loop(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await plughost_client(plughost_project({"errors": ERRORS}))
    answers = []
    with caplog.at_level(logging.ERROR, logger="plughost.request"):
        for _ in range(TRIAL_CALLS + 3):
            for kind in ("bad", "crash"):
                resp = await client.get("/fails", params={"kind": kind})
                answers.append((resp.status, await resp.json()))
            resp = await client.get("/fails")
            answers.append((resp.status, await resp.json()))
    assert set(map(repr, answers)) == {
        repr((400, {"error": "kind=bad is refused", "status": 400})),
        repr((500, {"error": "Internal Server Error", "status": 500})),
        repr((400, {"error": "missing required argument 'kind'", "status": 400})),
    }
    assert caplog.text.count("ValueError: boom") == TRIAL_CALLS + 3


async def test_thread_local_state_works_in_threads_and_on_the_loop(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"local": THREAD_LOCAL}))
    bodies = [await (await client.get("/count")).json() for _ in range(TRIAL_CALLS + 5)]
    per_thread: dict[str, list[int]] = {}
    for body in bodies:
        per_thread.setdefault(body["thread"], []).append(body["hits"])
    # Each thread saw its own connection only, wherever the calls ran.
    for hits in per_thread.values():
        assert hits == list(range(1, len(hits) + 1))
    assert len(bodies) == TRIAL_CALLS + 5


V1 = """
import threading
import time

import plughost

VERSION = 1


@plughost.route("/hello")
def hello(sleep: str = ""):
    if sleep:
        time.sleep(float(sleep))
    return {"version": VERSION, "thread": threading.current_thread().name}


def close():
    with open(__file__ + ".closed", "a") as log:
        log.write(f"{VERSION}\\n")
"""


@pytest.mark.usefixtures("writes_bytecode")
async def test_a_reload_of_a_moved_route_serves_new_code_and_closes_the_old(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": V1})
    client = await plughost_client(project, reload=True)
    await threads(client, "/hello", TRIAL_CALLS + 1)
    await client.get("/hello", params={"sleep": "0.05"})  # moves the route
    assert MAIN not in await threads(client, "/hello", 3)
    path = project.plugins_dir / "hello.py"
    async with asyncio.timeout(10):
        # A request still sleeping in a worker thread on version 1 over the reload.
        slow = asyncio.ensure_future(client.get("/hello", params={"sleep": "0.5"}))
        await asyncio.sleep(0.1)
        loaded = asyncio.create_task(wait_for_load(host_of(client), "hello"))
        await asyncio.sleep(0)
        path.write_text(V1.replace("VERSION = 1", "VERSION = 2"))
        assert (await loaded).ok
        assert (await (await slow).json())["version"] == 1
    closed = path.with_name("hello.py.closed")
    async with asyncio.timeout(10):
        while not closed.exists():
            await asyncio.sleep(0.02)
    assert closed.read_text() == "1\n"
    # Version 2 is a new route: it earns its place on the loop afresh.
    names = await threads(client, "/hello", TRIAL_CALLS + 2)
    assert MAIN not in names[:TRIAL_CALLS] and names[-1] == MAIN
    assert (await (await client.get("/hello")).json())["version"] == 2


@pytest.mark.usefixtures("writes_bytecode")
async def test_sync_to_thread_applies_when_plughost_toml_is_edited(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"sync": SYNC})
    client = await plughost_client(project, reload=True)
    assert (await threads(client, "/work", TRIAL_CALLS + 2))[-1] == MAIN
    done = reloader_of(client).batch_done
    text = project.config_path.read_text()
    project.config_path.write_text("[server]\nsync_to_thread = true\n\n" + text)
    async with asyncio.timeout(10):
        await done.wait()
    # No plugin reloaded: the same route, now in the threads.
    assert host_of(client).status()["sync"].version == 1
    assert MAIN not in await threads(client, "/work", 4)
    done = reloader_of(client).batch_done
    project.config_path.write_text(text)
    async with asyncio.timeout(10):
        await done.wait()
    assert (await threads(client, "/work", 2))[-1] == MAIN
