"""Task results shared between hosts: two hosts on one real Redis, and on one SQLite file."""

from __future__ import annotations

from typing import Any

from _redis import redis_url
from _support import poll
from aiohttp.test_utils import TestClient

from plughost.request.offload import TRIAL_CALLS
from plughost.testing import ClientFactory, ProjectFactory

__all__ = ["redis_url"]

JOBS = """
from plughost import BasePlugin


async def double(n):
    return n * 2


class Jobs(BasePlugin):
    route_path = "jobs"

    async def request_handler(self, **args):
        if "n" in args:
            return {"id": self.tasks.start(double, int(args["n"]))}
        info = await self.tasks.aget(args["id"])
        return info.as_dict() if info is not None else {"state": "unknown"}


class SyncJobs(BasePlugin):
    route_path = "syncjobs"

    def request_handler(self, **args):
        info = self.tasks.get(args["id"])
        listed = [i.id for i in self.tasks.list()]
        return {"state": info.state.value if info else "unknown", "listed": listed}
"""

SPY = """
from plughost import BasePlugin


class Spy(BasePlugin):
    route_path = "spy"

    async def request_handler(self, **args):
        info = await self.tasks.aget(args["id"])
        return {"state": info.state.value if info is not None else "unknown"}
"""


async def _state(client: TestClient[Any, Any], path: str, task_id: str) -> dict[str, Any]:
    resp = await client.get(path, params={"id": task_id})
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


async def _started_on_one_read_on_the_other(
    first: TestClient[Any, Any], second: TestClient[Any, Any]
) -> None:
    resp = await first.get("/jobs", params={"n": "21"})
    task_id = (await resp.json())["id"]
    info = await poll(lambda: _state(second, "/jobs", task_id), lambda i: i["state"] == "done")
    assert info["result"] == 42
    # A sync handler reads it too, past the calls after which a quick one would run inline.
    for _ in range(TRIAL_CALLS + 3):
        synced = await _state(second, "/syncjobs", task_id)
        assert synced == {"state": "done", "listed": [task_id]}
    # Another plugin of the same project cannot read it.
    assert await _state(second, "/spy", task_id) == {"state": "unknown"}


async def test_two_hosts_on_one_redis_share_a_task(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, redis_url: str
) -> None:
    project = plughost_project({"jobs": JOBS, "spy": SPY}, config=f'[tasks]\nstore = "{redis_url}"')
    first = await plughost_client(project)
    second = await plughost_client(project)
    await _started_on_one_read_on_the_other(first, second)


async def test_two_hosts_on_one_sqlite_file_share_a_task(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"jobs": JOBS, "spy": SPY}, config='[tasks]\nstore = "sqlite"')
    first = await plughost_client(project)
    second = await plughost_client(project)
    await _started_on_one_read_on_the_other(first, second)
    assert (project.root / ".plughost" / "tasks.sqlite3").is_file()


async def test_a_sync_read_on_the_event_loop_with_redis_is_a_clear_error(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, redis_url: str
) -> None:
    plugin = """
from plughost import BasePlugin


class Peek(BasePlugin):
    route_path = "peek"

    async def request_handler(self, **args):
        return {"info": self.tasks.get("x")}
"""
    project = plughost_project(
        {"peek": plugin}, config=f'[server]\ndebug = true\n[tasks]\nstore = "{redis_url}"'
    )
    client = await plughost_client(project)
    resp = await client.get("/peek")
    assert resp.status == 500
    assert "await self.tasks.aget" in await resp.text()
