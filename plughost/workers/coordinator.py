"""The coordinator: one reload for every worker, all or nothing.

It runs beside gunicorn's arbiter and listens on a Unix socket in a private
folder; each worker connects once it has loaded its plugins. To apply a change
(the watcher's changed files, or ``plughost reload``) it asks every worker to
prepare it: stage every touched plugin aside, as a single process does, and
answer. Only when every worker prepared it does every worker commit; when one
fails, or does not answer, every worker aborts and keeps what it serves. The
report names the worker and the cause.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ..config import Config
from ..reload.change import ChangeRequest, failed_reason
from ..reload.deploy import report_for
from .channel import DECIDE_TIMEOUT, LIMIT, PREPARE_TIMEOUT, Channel, ChannelClosed
from .merge import merge_documents

__all__ = ["Coordinator"]

logger: Final = logging.getLogger("plughost.workers")

Message = dict[str, Any]


class Coordinator:
    """Members (one per worker pid), the change in progress, and the watcher.

    Args:
        config: the project's config.
        socket_path: where workers connect.
        workers: how many workers gunicorn runs (the start-up table waits for them).
        on_ready: called once with the merged status, when every worker joined.
    """

    def __init__(
        self,
        config: Config,
        socket_path: str,
        workers: int,
        *,
        on_ready: Any = None,
    ) -> None:
        self.config = config
        self.socket_path: Final = socket_path
        self.workers: Final = workers
        self.members: dict[int, Channel] = {}
        self._on_ready = on_ready
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.joined = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._accept, self.socket_path, limit=LIMIT)
        Path(self.socket_path).chmod(0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for channel in list(self.members.values()):
            await channel.aclose()
        if self._connections:
            await asyncio.wait(self._connections, timeout=5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hello: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def handle(message: Message) -> Message:
            op = message.get("op")
            if op == "hello" and not hello.done():
                hello.set_result(int(message["pid"]))
                return {}
            if op == "deploy":
                return await self.apply(ChangeRequest.from_dict(message.get("change", {})))
            if op == "status":
                return await self.status()
            return {"ok": False, "error": f"unknown request {op!r}"}

        channel = Channel(reader, writer, handle)
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        reading = asyncio.create_task(channel.run())
        pid: int | None = None
        try:
            pid = await asyncio.wait_for(hello, 30)
            self.members[pid] = channel
            logger.debug("worker %d joined", pid)
            if len(self.members) >= self.workers and not self.joined.is_set():
                self.joined.set()
                if self._on_ready is not None:
                    try:
                        self._on_ready(await self.status())
                    except Exception:
                        logger.exception("printing the start-up table failed")
            await reading
        except (TimeoutError, ConnectionError):
            reading.cancel()
        finally:
            if pid is not None and self.members.get(pid) is channel:
                del self.members[pid]
            if task is not None:
                self._connections.discard(task)

    async def status(self) -> dict[str, Any]:
        """Every worker's status document, merged."""
        members = dict(self.members)
        replies = await asyncio.gather(
            *(channel.request({"op": "status"}, 10) for channel in members.values()),
            return_exceptions=True,
        )
        documents = {
            pid: reply
            for pid, reply in zip(members, replies, strict=True)
            if isinstance(reply, dict) and "plugins" in reply
        }
        return merge_documents(documents)

    async def apply(self, change: ChangeRequest) -> dict[str, Any]:
        """Prepare ``change`` in every worker, then commit it in all or abort it in all."""
        async with self._lock:
            started = time.perf_counter()
            members = dict(self.members)
            if not members:
                return report_for(self.config, [], "no worker is serving yet", [], None)
            change_id = next(self._ids)
            prepared = await self._ask(
                members,
                {"op": "prepare", "change_id": change_id, "change": change.as_dict()},
                PREPARE_TIMEOUT,
            )
            failures = _failures(prepared)
            decision = not failures
            reason: str | None = None
            if failures:
                pid, (plugin, cause) = next(iter(failures.items()))
                reason = failed_reason({plugin or "the change": cause}, pid)
            done = await self._ask(
                members,
                {
                    "op": "commit" if decision else "abort",
                    "change_id": change_id,
                    "reason": reason or "",
                },
                DECIDE_TIMEOUT,
            )
            pids = sorted(members)
            plugins = _plugins(done, failures, pids)
            times = [reply["at"] for reply in done.values() if isinstance(reply.get("at"), float)]
            skew = round((max(times) - min(times)) * 1000, 2) if decision and times else None
            error: str | None = None
            if failures and not plugins:
                pid, (_, first) = next(iter(failures.items()))
                error = f"worker {pid}: {first}"
            elif decision:
                # A worker that did not commit (it exited, or gave up waiting) now serves
                # another version than the rest: say so, never report success.
                for pid in pids:
                    if not done[pid].get("ok"):
                        cause = done[pid].get("error") or "it aborted"
                        error = f"worker {pid} did not commit: {cause}"
                        break
            report = report_for(self.config, plugins, error, pids, skew)
            _log(report, time.perf_counter() - started)
            return report

    async def _ask(
        self, members: Mapping[int, Channel], message: Message, timeout: float
    ) -> dict[int, Message]:
        async def one(pid: int, channel: Channel) -> Message:
            try:
                return await channel.request(message, timeout)
            except ChannelClosed:
                return {"ok": False, "error": f"worker {pid} exited"}
            except TimeoutError:
                return {"ok": False, "error": f"worker {pid} did not answer in {timeout:g} s"}

        replies = await asyncio.gather(*(one(pid, ch) for pid, ch in members.items()))
        return dict(zip(members, replies, strict=True))


def _failures(prepared: Mapping[int, Message]) -> dict[int, tuple[str | None, str]]:
    """The first failure of each worker that did not prepare: (plugin or None, error)."""
    found: dict[int, tuple[str | None, str]] = {}
    for pid in sorted(prepared):
        reply = prepared[pid]
        if reply.get("ok"):
            continue
        plugin_failures: dict[str, str] = reply.get("failures") or {}
        if plugin_failures:
            plugin = next(iter(plugin_failures))
            found[pid] = (plugin, plugin_failures[plugin])
        else:
            found[pid] = (None, str(reply.get("error") or "failed"))
    return found


def _plugins(
    done: Mapping[int, Message], failures: Mapping[int, tuple[str | None, str]], pids: list[int]
) -> list[dict[str, Any]]:
    """One entry per plugin: the first worker's outcome, with the failing worker's error."""
    reference = next((done[pid] for pid in pids if done[pid].get("plugins")), None)
    entries = [dict(item) for item in (reference or {}).get("plugins", [])]
    by_name = {entry["name"]: entry for entry in entries}
    for pid, (plugin, error) in failures.items():
        if plugin is None:
            continue
        entry = by_name.get(plugin)
        if entry is None:
            entry = by_name[plugin] = {"name": plugin, "version": None, "ms": 0.0}
            entries.append(entry)
        if entry.get("worker") is None:
            entry.update(outcome="failed", error=error, worker=pid)
    return entries


def _log(report: Mapping[str, Any], seconds: float) -> None:
    """One line per plugin for the whole server, not one per worker."""
    count = len(report["workers"])
    if report["error"]:
        logger.error("change not applied; every worker keeps its version: %s", report["error"])
    for item in report["plugins"]:
        outcome, name = item["outcome"], item["name"]
        if outcome in ("reloaded", "loaded"):
            logger.info(
                "%s %s in %.1f ms on %d workers (commits %.1f ms apart)",
                outcome,
                name,
                seconds * 1000,
                count,
                report["skew_ms"] or 0.0,
            )
        elif outcome == "failed":
            logger.error(
                "plugin %r failed to load in worker %s; every worker keeps its version: %s",
                name,
                item.get("worker"),
                item.get("error"),
            )
        elif outcome == "not applied":
            logger.warning("%s not applied: %s", name, item.get("error"))
        else:
            logger.info("%s %s on %d workers", outcome, name, count)
