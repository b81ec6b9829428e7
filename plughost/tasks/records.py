"""Where task states and results are kept: the store interface, and the memory store.

A store keeps each task under its plugin's name and id; a plugin reads only
its own. Every store bounds what it keeps twice: at most ``max_results``
finished tasks per plugin, and nothing longer than ``ttl`` seconds after it
was last written.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Final

from .info import TaskInfo

__all__ = ["MemoryRecords", "SyncRecords", "TaskRecords"]

#: seconds between the memory store's sweeps of expired tasks
_SWEEP: Final = 1.0


class TaskRecords(ABC):
    """A task store: memory, SQLite or Redis.

    Attributes:
        shared: True when other processes read the store, so results must be
            JSON values.
        max_results: finished tasks kept per plugin (the oldest go first).
        ttl: seconds a task is kept after it was last written.
    """

    shared: bool = True
    #: how the store is named in messages
    name: str = "shared"

    def __init__(self, *, max_results: int = 100, ttl: float = 86400.0) -> None:
        self.max_results = max_results
        self.ttl = ttl

    @abstractmethod
    async def save(self, info: TaskInfo) -> None:
        """Write ``info`` (a new task, or a change of state)."""

    @abstractmethod
    async def load(self, plugin: str, task_id: str) -> TaskInfo | None:
        """``plugin``'s task ``task_id``; None when unknown, expired or another plugin's."""

    @abstractmethod
    async def load_all(self, plugin: str) -> list[TaskInfo]:
        """Every task of ``plugin`` still kept, oldest first."""

    async def aclose(self) -> None:  # noqa: B027 - a store without connections has nothing to do
        """Release connections; the default has none."""


class SyncRecords(TaskRecords):
    """A store that also answers without awaiting (memory, SQLite).

    A plugin's sync ``tasks.get`` and ``tasks.list`` read it directly, even on
    the event loop: each call is a dictionary look-up or a local SQLite query.
    """

    @abstractmethod
    def save_now(self, info: TaskInfo) -> None: ...

    @abstractmethod
    def load_now(self, plugin: str, task_id: str) -> TaskInfo | None: ...

    @abstractmethod
    def load_all_now(self, plugin: str) -> list[TaskInfo]: ...

    async def save(self, info: TaskInfo) -> None:
        self.save_now(info)

    async def load(self, plugin: str, task_id: str) -> TaskInfo | None:
        return self.load_now(plugin, task_id)

    async def load_all(self, plugin: str) -> list[TaskInfo]:
        return self.load_all_now(plugin)


class MemoryRecords(SyncRecords):
    """Tasks in this process's memory: the store for one process.

    Results are kept as the objects the tasks returned, not copied.
    """

    shared = False
    name = "memory"

    def __init__(self, *, max_results: int = 100, ttl: float = 86400.0) -> None:
        super().__init__(max_results=max_results, ttl=ttl)
        self._infos: dict[str, OrderedDict[str, tuple[TaskInfo, float]]] = {}
        #: each plugin's finished task ids, oldest first
        self._finished: dict[str, OrderedDict[str, None]] = {}
        self._swept = 0.0
        # Sync handlers start and read tasks from worker threads.
        self._lock = threading.Lock()

    def save_now(self, info: TaskInfo) -> None:
        now = time.time()
        with self._lock:
            infos = self._infos.setdefault(info.plugin, OrderedDict())
            infos[info.id] = (info, now + self.ttl)
            if info.finished_at is None:
                return
            finished = self._finished.setdefault(info.plugin, OrderedDict())
            finished[info.id] = None
            while len(finished) > self.max_results:
                infos.pop(finished.popitem(last=False)[0], None)
            # Expired tasks are never answered; dropping them is a sweep now and then.
            if now - self._swept > _SWEEP:
                self._swept = now
                self._sweep(now)

    def _sweep(self, now: float) -> None:
        for plugin, infos in self._infos.items():
            finished: dict[str, None] = self._finished.get(plugin) or {}
            for task_id in [i for i, (_, expires) in infos.items() if expires <= now]:
                del infos[task_id]
                finished.pop(task_id, None)

    def load_now(self, plugin: str, task_id: str) -> TaskInfo | None:
        with self._lock:
            infos = self._infos.get(plugin)
            found = infos.get(task_id) if infos is not None else None
        if found is None or found[1] <= time.time():
            return None
        return found[0]

    def load_all_now(self, plugin: str) -> list[TaskInfo]:
        now = time.time()
        with self._lock:
            return [info for info, expires in self._infos.get(plugin, {}).values() if expires > now]
