"""Background tasks: started by a request, queried by a later one.

:class:`TaskStore` runs this process's tasks and writes their states and
results to a :class:`~plughost.tasks.records.TaskRecords` store: memory for
one process, SQLite for the workers of one machine, Redis for several hosts.
Results are kept by plugin, so they stay queryable when the plugin that
started them is reloaded, and a plugin reads only its own.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, TypeVar

from ..errors import PlughostError
from .info import TaskInfo, TaskState
from .records import MemoryRecords, SyncRecords, TaskRecords

__all__ = ["TaskGroup", "TaskStore"]

logger: Final = logging.getLogger("plughost.tasks")
_T = TypeVar("_T")
#: seconds cancelled tasks get to finish at shutdown (at least; the grace period if longer)
_CANCEL_WAIT: Final = 1.0
#: seconds a sync handler's thread waits for an asynchronous store
_READ_TIMEOUT: Final = 10.0


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
        return self._store.start(self.plugin, coroutine, self.owner)

    def get(self, task_id: str) -> TaskInfo | None:
        """The task's state, result or error, and its times; None for an unknown id.

        With the Redis store, an ``async`` handler reads with :meth:`aget`.
        """
        return self._store.get(self.plugin, task_id)

    def list(self) -> builtins.list[TaskInfo]:
        """Every task of this plugin still kept, oldest first."""
        return self._store.list(self.plugin)

    async def aget(self, task_id: str) -> TaskInfo | None:
        """:meth:`get`, awaited: works with every store."""
        return await self._store.records.load(self.plugin, task_id)

    async def alist(self) -> builtins.list[TaskInfo]:
        """:meth:`list`, awaited: works with every store."""
        return await self._store.records.load_all(self.plugin)


class TaskStore:
    """This process's running tasks, and the store their results go to."""

    def __init__(self, records: TaskRecords | None = None) -> None:
        self.records: Final = records if records is not None else MemoryRecords()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._infos: dict[str, TaskInfo] = {}
        self._owners: dict[str, object] = {}
        #: the event loop tasks run on; set by the host, so that a sync handler
        #: running in a worker thread can start tasks too
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def max_results(self) -> int:
        """Finished tasks kept per plugin."""
        return self.records.max_results

    @max_results.setter
    def max_results(self, value: int) -> None:
        self.records.max_results = value

    def group(self, plugin: str, owner: object = None) -> TaskGroup:
        return TaskGroup(self, plugin, owner)

    def start(self, plugin: str, coroutine: Coroutine[Any, Any, Any], owner: object) -> str:
        task_id = secrets.token_urlsafe(16)
        info = TaskInfo(task_id, plugin, created_at=time.time())
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is None and self.loop is None:
            coroutine.close()
            raise RuntimeError("background tasks need the host's event loop to be running")
        if owner is not None:
            self._owners[task_id] = owner
        self._infos[task_id] = info
        if isinstance(self.records, SyncRecords):
            # Written before the id is returned, so any worker can read it at once.
            self._save_now(info)
        if running is not None:
            self._create(info, coroutine)
        else:
            assert self.loop is not None
            self.loop.call_soon_threadsafe(self._create, info, coroutine)
        return task_id

    def _create(self, info: TaskInfo, coroutine: Coroutine[Any, Any, Any]) -> None:
        self._running[info.id] = asyncio.get_running_loop().create_task(
            self._run(info, coroutine), name=f"plughost task {info.plugin}:{info.id[:8]}"
        )

    async def _run(self, info: TaskInfo, coroutine: Coroutine[Any, Any, Any]) -> None:
        info.state = TaskState.RUNNING
        info.started_at = time.time()
        try:
            await self._save(info)
            info.result = await coroutine
            info.state = TaskState.DONE
        except asyncio.CancelledError:
            info.state = TaskState.CANCELLED
        except Exception as error:
            info.state = TaskState.FAILED
            info.error = f"{type(error).__name__}: {error}"
            logger.warning("background task of plugin %r failed: %s", info.plugin, info.error)
        info.finished_at = time.time()
        try:
            await self._save(info)
        finally:
            # Running until its result is saved: shutdown and drain wait for that too.
            self._running.pop(info.id, None)
            self._owners.pop(info.id, None)
            self._infos.pop(info.id, None)

    def _checked(self, info: TaskInfo) -> TaskInfo:
        """``info`` as a shared store can keep it: a result that is not JSON fails the task."""
        if not self.records.shared or info.state is not TaskState.DONE:
            return info
        try:
            info.to_json()
        except (TypeError, ValueError) as error:
            info.state = TaskState.FAILED
            info.error = (
                f"TypeError: the task returned {type(info.result).__name__}; "
                f"a shared task store keeps JSON values only ({error})"
            )
            info.result = None
            logger.warning("background task of plugin %r failed: %s", info.plugin, info.error)
        return info

    def _save_now(self, info: TaskInfo) -> None:
        assert isinstance(self.records, SyncRecords)
        try:
            self.records.save_now(self._checked(info))
        except Exception as error:
            logger.error("task %s of plugin %r not saved: %s", info.id[:8], info.plugin, error)

    async def _save(self, info: TaskInfo) -> None:
        try:
            await self.records.save(self._checked(info))
        except Exception as error:
            logger.error("task %s of plugin %r not saved: %s", info.id[:8], info.plugin, error)

    def get(self, plugin: str, task_id: str) -> TaskInfo | None:
        records = self.records
        if isinstance(records, SyncRecords):
            return records.load_now(plugin, task_id)
        return self._wait(records.load(plugin, task_id), "get", "aget")

    def list(self, plugin: str) -> builtins.list[TaskInfo]:
        records = self.records
        if isinstance(records, SyncRecords):
            return records.load_all_now(plugin)
        return self._wait(records.load_all(plugin), "list", "alist")

    def _wait(self, reading: Coroutine[Any, Any, _T], sync: str, awaited: str) -> _T:
        """Run an asynchronous store's read for a sync handler, in its worker thread."""
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        loop = self.loop
        if on_loop or loop is None or loop.is_closed():
            reading.close()
            raise PlughostError(
                f"tasks.{sync}() cannot wait for the {self.records.name} task store "
                "on the event loop",
                hint=f"in an async handler, use `await self.tasks.{awaited}(...)`",
            )
        return asyncio.run_coroutine_threadsafe(reading, loop).result(_READ_TIMEOUT)

    def running(self) -> builtins.list[asyncio.Task[None]]:
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
        for info in list(self._infos.values()):
            if info.finished_at is None:
                info.state = TaskState.CANCELLED
                info.finished_at = now
                await self._save(info)
        self._infos.clear()

    async def aclose(self) -> None:
        """Release the store's connections."""
        await self.records.aclose()

    async def _finish(self, tasks: builtins.list[asyncio.Task[None]], grace: float) -> None:
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
