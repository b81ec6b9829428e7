"""The task stores: memory, SQLite and a real Redis, through one interface."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from _redis import redis_url

from plughost.config import parse_config
from plughost.errors import ConfigError
from plughost.tasks import MemoryRecords, TaskInfo, TaskRecords, TaskState, open_records
from plughost.tasks.redisdb import RedisRecords
from plughost.tasks.sqlite import SQLiteRecords

__all__ = ["redis_url"]

Factory = Callable[..., TaskRecords]


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def make_records(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    made: list[TaskRecords] = []

    def make(max_results: int = 100, ttl: float = 60.0) -> TaskRecords:
        records: TaskRecords
        if request.param == "memory":
            records = MemoryRecords(max_results=max_results, ttl=ttl)
        elif request.param == "sqlite":
            records = SQLiteRecords(
                tmp_path / "state" / "tasks.db", max_results=max_results, ttl=ttl
            )
        else:
            url = request.getfixturevalue("redis_url")
            records = RedisRecords(url, max_results=max_results, ttl=ttl)
        made.append(records)
        return records

    yield make
    for records in made:
        if isinstance(records, RedisRecords):
            await records._redis.flushdb()
        await records.aclose()


def _info(plugin: str, task_id: str, *, done: bool = False, result: object = None) -> TaskInfo:
    now = time.time()
    return TaskInfo(
        task_id,
        plugin,
        TaskState.DONE if done else TaskState.RUNNING,
        result=result,
        started_at=now,
        finished_at=now if done else None,
        created_at=now,
    )


async def test_a_saved_task_is_read_back(make_records: Factory) -> None:
    records = make_records()
    await records.save(_info("jobs", "a1", done=True, result={"n": [1, 2]}))
    info = await records.load("jobs", "a1")
    assert info is not None
    assert info.state is TaskState.DONE
    assert info.result == {"n": [1, 2]}
    assert [i.id for i in await records.load_all("jobs")] == ["a1"]


async def test_results_are_private_to_their_plugin(make_records: Factory) -> None:
    records = make_records()
    await records.save(_info("jobs", "secret", done=True, result=1))
    assert await records.load("other", "secret") is None
    assert await records.load_all("other") == []


async def test_finished_tasks_are_bounded_per_plugin(make_records: Factory) -> None:
    records = make_records(max_results=2)
    await records.save(_info("jobs", "running"))
    for n in range(4):
        await records.save(_info("jobs", f"done{n}", done=True, result=n))
    await records.save(_info("other", "x", done=True))
    assert [i.id for i in await records.load_all("jobs")] == ["running", "done2", "done3"]
    assert await records.load("jobs", "done0") is None
    assert [i.id for i in await records.load_all("other")] == ["x"]


async def test_tasks_expire(make_records: Factory) -> None:
    records = make_records(ttl=0.2)
    await records.save(_info("jobs", "soon", done=True, result=1))
    async with asyncio.timeout(10):
        while await records.load("jobs", "soon") is not None:
            await asyncio.sleep(0.05)
    assert await records.load_all("jobs") == []


async def test_two_sqlite_connections_share_tasks(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    first, second = SQLiteRecords(path), SQLiteRecords(path)
    try:
        first.save_now(_info("jobs", "t", done=True, result="from the first"))
        info = second.load_now("jobs", "t")
        assert info is not None and info.result == "from the first"
        journal = first._connection.execute("PRAGMA journal_mode").fetchone()[0]
        assert journal == "wal"
    finally:
        await first.aclose()
        await second.aclose()


def test_store_is_chosen_by_config_and_workers(tmp_path: Path) -> None:
    path = tmp_path / "plughost.toml"
    assert isinstance(open_records(parse_config("", path)), MemoryRecords)
    workers = open_records(parse_config("[server]\nworkers = 2", path))
    assert isinstance(workers, SQLiteRecords)
    assert workers.path == tmp_path / ".plughost" / "tasks.sqlite3"
    asyncio.run(workers.aclose())
    redis = open_records(parse_config('[tasks]\nstore = "redis://127.0.0.1:1/0"\nttl = 5', path))
    assert isinstance(redis, RedisRecords) and redis.ttl == 5


def test_a_bad_store_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tasks.store: 'mysql://x' is not a task store") as info:
        parse_config('[tasks]\nstore = "mysql://x"', tmp_path / "plughost.toml")
    assert info.value.line == 2
