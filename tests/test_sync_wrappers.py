"""Bottle-style plain ``def`` wrappers: in a worker thread, around def and async endpoints."""

from __future__ import annotations

import asyncio

from plughost.testing import ClientFactory, ProjectFactory

# Wrappers that tag the result with their name: plain (Bottle) and async (plughost).
MIXED = """
import threading

import plughost


class Plain:
    api = 2

    def __init__(self, name):
        self.name = name

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            result = callback(*args, **kwargs)
            assert threading.current_thread() is not threading.main_thread()
            return {**result, "tags": [self.name, *result.get("tags", [])]}

        return wrapper


class Async:
    api = 2

    def __init__(self, name):
        self.name = name

    def apply(self, callback, route):
        async def wrapper(**kwargs):
            result = await callback(**kwargs)
            return {**result, "tags": [self.name, *result.get("tags", [])]}

        return wrapper


def setup(host):
    host.install(Plain("outer-plain"))
    host.install(Async("async"))
    host.install(Plain("inner-plain"))


@plughost.route("/async-endpoint")
async def async_endpoint():
    return {"endpoint": "async"}


@plughost.route("/def-endpoint")
def def_endpoint():
    return {"endpoint": "def"}

"""

BLOCKING = """
import threading

import plughost

entered = threading.Event()
released = threading.Event()


class Blocking:
    name = "blocking"
    api = 2

    def apply(self, callback, route):
        if route.rule != "/wait":
            return callback

        def wrapper(*args, **kwargs):
            # Blocks its thread until another request comes through: on the
            # event loop this would stall the server, and /release never runs.
            entered.set()
            if not released.wait(timeout=30):
                raise RuntimeError("never released")
            return callback(*args, **kwargs)

        return wrapper


def setup(host):
    host.install(Blocking())


@plughost.route("/wait")
async def wait():
    return {"waited": True}


@plughost.route("/release")
def release():
    if not entered.wait(timeout=30):
        raise RuntimeError("/wait never started")
    released.set()
    return {"released": True}
"""


async def test_plain_and_async_wrappers_nest_around_both_kinds_of_endpoint(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"mixed": MIXED}))
    for path, endpoint in (("/async-endpoint", "async"), ("/def-endpoint", "def")):
        resp = await client.get(path)
        assert resp.status == 200, await resp.text()
        assert await resp.json() == {
            "endpoint": endpoint,
            "tags": ["outer-plain", "async", "inner-plain"],
        }


async def test_many_concurrent_requests_through_alternating_wrappers_all_finish(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    # More requests than the default thread pool has workers, each holding one
    # thread in the outer plain wrapper while its inner plain wrapper needs another.
    client = await plughost_client(plughost_project({"mixed": MIXED}))

    async def one(index: int) -> int:
        resp = await client.get("/async-endpoint" if index % 2 else "/def-endpoint")
        await resp.read()
        return resp.status

    async with asyncio.timeout(60):
        statuses = await asyncio.gather(*(one(i) for i in range(40)))
    assert statuses == [200] * 40


async def test_a_blocking_plain_wrapper_does_not_block_the_event_loop(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"blocking": BLOCKING}))
    waiting = asyncio.ensure_future(client.get("/wait"))
    async with asyncio.timeout(20):
        released = await client.get("/release")
        assert await released.json() == {"released": True}
        resp = await waiting
    assert await resp.json() == {"waited": True}


# Bottle's StopwatchPlugin, from its plugin guide (docs/migrating.md shows it).
STOPWATCH = """
import time

import bottle

import plughost


class StopwatchPlugin:
    name = "stopwatch"
    api = 2

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            started = time.time()
            body = callback(*args, **kwargs)
            bottle.response.headers["X-Exec-Time"] = str(time.time() - started)
            return body

        return wrapper


def setup(host):
    host.install(StopwatchPlugin())


@plughost.route("/timed")
async def timed():
    return {"timed": True}
"""


async def test_bottles_stopwatch_plugin_runs_unchanged(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"stopwatch": STOPWATCH}))
    resp = await client.get("/timed")
    assert resp.status == 200
    assert await resp.json() == {"timed": True}
    assert float(resp.headers["X-Exec-Time"]) >= 0
