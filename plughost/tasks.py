"""Background tasks: started by a request, queried by a later one.

Results live in the host's :class:`TaskStore`, keyed by plugin, so they stay
queryable when the plugin that started them is reloaded.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

__all__ = ["TaskGroup", "TaskInfo", "TaskState", "TaskStore"]

logger: Final = logging.getLogger("plughost.tasks")
#: seconds cancelled tasks get to finish at shutdown (at least; the grace period if longer)
_CANCEL_WAIT: Final = 1.0


class TaskState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class TaskInfo:
    """What is known about one background task."""

    id: str
    plugin: str
    state: TaskState = TaskState.PENDING
    result: Any = None
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plugin": self.plugin,
            "state": self.state.value,
            "result": self.result,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class TaskGroup:
    """One plugin's view of the task store (``self.tasks`` / ``host.tasks``)."""

    def __init__(self, store: TaskStore, plugin: str, owner: object = None) -> None:
        self._store = store
        self.plugin: Final = plugin
        #: the plugin version starting tasks through this group (drained on its reload)
        self.owner: Final = owner

    def start(
        self,
        work: Callable[..., Awaitable[Any]] | Coroutine[Any, Any, Any],
        *args: Any,
        **kwargs: Any,
    ) -> str:
        """Run ``work`` (a coroutine, or an async function and its arguments) in the background.

        Returns the task's id, an unguessable string for :meth:`get`.
        """
        if inspect.iscoroutine(work):
            if args or kwargs:
                raise TypeError("arguments are given with an async function, not a coroutine")
            coroutine = work
        elif callable(work):
            made = work(*args, **kwargs)
            if not inspect.iscoroutine(made):
                raise TypeError(f"{work!r} is not an async function")
            coroutine = made
        else:
            raise TypeError(f"cannot run {work!r} as a task")
        return self._store._start(self.plugin, coroutine, self.owner)

    def get(self, task_id: str) -> TaskInfo | None:
        """The task's state, result or error, and its times; None for an unknown id."""
        return self._store._get(self.plugin, task_id)

    def list(self) -> list[TaskInfo]:
        return self._store._list(self.plugin)


class TaskStore:
    """Task results per plugin, with at most ``max_results`` finished ones kept per plugin."""

    def __init__(self, max_results: int = 100) -> None:
        self.max_results = max_results
        self._infos: dict[str, OrderedDict[str, TaskInfo]] = {}
        # Sync handlers start and read tasks from worker threads.
        self._lock = threading.Lock()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._owners: dict[str, object] = {}
        #: the event loop tasks run on; set by the host, so that a sync handler
        #: running in a worker thread can start tasks too
        self.loop: asyncio.AbstractEventLoop | None = None

    def group(self, plugin: str, owner: object = None) -> TaskGroup:
        return TaskGroup(self, plugin, owner)

    def _start(self, plugin: str, coroutine: Coroutine[Any, Any, Any], owner: object) -> str:
        task_id = secrets.token_urlsafe(16)
        info = TaskInfo(task_id, plugin)
        if owner is not None:
            self._owners[task_id] = owner
        with self._lock:
            self._infos.setdefault(plugin, OrderedDict())[task_id] = info
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            self._create(info, coroutine)
        elif self.loop is not None:
            self.loop.call_soon_threadsafe(self._create, info, coroutine)
        else:
            coroutine.close()
            raise RuntimeError("background tasks need the host's event loop to be running")
        return task_id

    def _create(self, info: TaskInfo, coroutine: Coroutine[Any, Any, Any]) -> None:
        self._running[info.id] = asyncio.get_running_loop().create_task(
            self._run(info, coroutine), name=f"plughost task {info.plugin}:{info.id[:8]}"
        )

    async def _run(self, info: TaskInfo, coroutine: Coroutine[Any, Any, Any]) -> None:
        info.state = TaskState.RUNNING
        info.started_at = time.time()
        try:
            info.result = await coroutine
            info.state = TaskState.DONE
        except asyncio.CancelledError:
            info.state = TaskState.CANCELLED
        except Exception as error:
            info.state = TaskState.FAILED
            info.error = f"{type(error).__name__}: {error}"
            logger.warning("background task of plugin %r failed: %s", info.plugin, info.error)
        finally:
            info.finished_at = time.time()
            self._running.pop(info.id, None)
            self._owners.pop(info.id, None)
            self._evict(info.plugin)

    def _evict(self, plugin: str) -> None:
        with self._lock:
            infos = self._infos.get(plugin)
            if infos is None:
                return
            finished = [i for i, info in infos.items() if info.finished_at is not None]
            for task_id in finished[: max(0, len(finished) - self.max_results)]:
                del infos[task_id]

    def _get(self, plugin: str, task_id: str) -> TaskInfo | None:
        infos = self._infos.get(plugin)
        return infos.get(task_id) if infos is not None else None

    def _list(self, plugin: str) -> list[TaskInfo]:
        with self._lock:
            return list(self._infos.get(plugin, {}).values())

    def running(self) -> list[asyncio.Task[None]]:
        """The tasks still running, of every plugin."""
        return list(self._running.values())

    async def drain(self, owner: object, timeout: float) -> None:
        """Let ``owner``'s running tasks finish within ``timeout`` seconds, then cancel them."""
        tasks = [t for i, t in self._running.items() if self._owners.get(i) is owner]
        await self._finish(tasks, timeout)

    async def shutdown(self, grace: float) -> None:
        """Give running tasks ``grace`` seconds, then cancel them (recorded as cancelled)."""
        await self._finish(list(self._running.values()), grace)
        now = time.time()
        for infos in self._infos.values():
            for info in infos.values():
                if info.finished_at is None:
                    info.state = TaskState.CANCELLED
                    info.finished_at = now

    async def _finish(self, tasks: list[asyncio.Task[None]], grace: float) -> None:
        pending: set[asyncio.Task[None]] = set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            # Bounded too: a task that swallows its cancellation must not hang shutdown.
            _, stuck = await asyncio.wait(pending, timeout=max(grace, _CANCEL_WAIT))
            for task in stuck:
                logger.warning("%s ignored its cancellation; abandoned", task.get_name())
