"""Tasks in Redis: shared by every host that points at the same database.

redis-py's asyncio client. Each task is one key holding its JSON, expiring
``ttl`` seconds after its last write; each plugin has a sorted set of its task
ids (by start time) for listing, and one of its finished tasks for the
``max_results`` bound.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from redis.asyncio import Redis

from .info import TaskInfo
from .records import TaskRecords

__all__ = ["RedisRecords"]

_PREFIX: Final = "plughost:tasks:"
#: connections to Redis per process
_CONNECTIONS: Final = 32


class RedisRecords(TaskRecords):
    """Tasks in the Redis database at ``url`` (``redis://HOST:PORT/DB``)."""

    name = "Redis"

    def __init__(self, url: str, *, max_results: int = 100, ttl: float = 86400.0) -> None:
        super().__init__(max_results=max_results, ttl=ttl)
        self.url: Final = url
        self._redis = Redis.from_url(url)
        # A burst of tasks queues here (first come, first served) instead of
        # opening a connection each, past the pool's "Too many connections".
        self._slots = asyncio.Semaphore(_CONNECTIONS)

    @staticmethod
    def _key(plugin: str, task_id: str) -> str:
        return f"{_PREFIX}{plugin}:task:{task_id}"

    @staticmethod
    def _index(plugin: str) -> str:
        return f"{_PREFIX}{plugin}:index"

    @staticmethod
    def _finished(plugin: str) -> str:
        return f"{_PREFIX}{plugin}:finished"

    async def save(self, info: TaskInfo) -> None:
        async with self._slots:
            await self._save(info)

    async def _save(self, info: TaskInfo) -> None:
        ttl_ms = max(1, int(self.ttl * 1000))
        index = self._index(info.plugin)
        finished = self._finished(info.plugin)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(info.plugin, info.id), info.to_json(), px=ttl_ms)
            pipe.zadd(index, {info.id: info.created_at})
            pipe.pexpire(index, ttl_ms)
            if info.finished_at is not None:
                pipe.zadd(finished, {info.id: info.created_at})
                pipe.pexpire(finished, ttl_ms)
                pipe.zcard(finished)
            replies = await pipe.execute()
        if info.finished_at is not None and replies[-1] > self.max_results:
            await self._evict(info.plugin)

    async def _evict(self, plugin: str) -> None:
        """Drop the finished tasks of ``plugin`` beyond the newest ``max_results``."""
        finished = self._finished(plugin)
        oldest = await self._redis.zrange(finished, 0, -(self.max_results + 1))
        if oldest:
            names = [_text(task_id) for task_id in oldest]
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(*(self._key(plugin, name) for name in names))
                pipe.zrem(self._index(plugin), *names)
                pipe.zrem(finished, *names)
                await pipe.execute()

    async def _infos(self, plugin: str, ids: list[Any]) -> list[TaskInfo]:
        """The tasks still kept among ``ids``; the expired ones leave the index."""
        if not ids:
            return []
        names = [_text(task_id) for task_id in ids]
        bodies = await self._redis.mget([self._key(plugin, name) for name in names])
        gone = [name for name, body in zip(names, bodies, strict=True) if body is None]
        if gone:
            await self._redis.zrem(self._index(plugin), *gone)
        return [TaskInfo.from_json(body) for body in bodies if body is not None]

    async def load(self, plugin: str, task_id: str) -> TaskInfo | None:
        async with self._slots:
            body = await self._redis.get(self._key(plugin, task_id))
        return TaskInfo.from_json(body) if body is not None else None

    async def load_all(self, plugin: str) -> list[TaskInfo]:
        async with self._slots:
            ids = await self._redis.zrange(self._index(plugin), 0, -1)
            return await self._infos(plugin, ids)

    async def aclose(self) -> None:
        await self._redis.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
