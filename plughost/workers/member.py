"""A worker's side of a coordinated reload: stage the change, answer, then commit or abort.

The worker holds its host's lock from ``prepare`` until the coordinator's
decision, so nothing else changes its plugins in between; requests keep being
served by the live versions the whole time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any, Final

from ..errors import ConfigError, HTTPError
from ..reload.change import ChangeRequest, outcomes, read_config, stage_change
from ..request.status import status_document
from .channel import DECISION_TIMEOUT, LIMIT, Channel, ChannelClosed

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["Member"]

logger: Final = logging.getLogger("plughost.workers")
#: seconds a worker waits for the coordinator to apply a change it asked for
DEPLOY_TIMEOUT: Final = 600.0
#: seconds a worker waits for the merged status of every worker
STATUS_TIMEOUT: Final = 10.0

Message = dict[str, Any]


class _Pending:
    """One change this worker prepared, waiting for the coordinator's decision."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.prepared: asyncio.Future[Message] = loop.create_future()
        self.decision: asyncio.Future[tuple[bool, str]] = loop.create_future()
        self.done: asyncio.Future[Message] = loop.create_future()


class Member:
    """This worker's membership: its host, and its channel to the coordinator."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path: Final = socket_path
        self.host: Host | None = None
        self._channel: Channel | None = None
        self._reading: asyncio.Task[None] | None = None
        self._pending: dict[int, _Pending] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self, host: Host) -> None:
        """Connect to the coordinator and say which plugins this worker serves."""
        self.host = host
        reader, writer = await asyncio.open_unix_connection(self.socket_path, limit=LIMIT)
        self._channel = Channel(reader, writer, self._handle)
        self._reading = asyncio.create_task(self._channel.run())
        await self._channel.notify({"op": "hello", "pid": os.getpid()})

    async def leave(self) -> None:
        if self._channel is not None:
            await self._channel.aclose()
        if self._reading is not None:
            await asyncio.wait([self._reading], timeout=5)
        for pending in self._pending.values():
            if not pending.decision.done():
                pending.decision.set_result((False, "the worker is stopping"))
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    # -- asked by this worker's endpoints ---------------------------------------

    async def deploy(self, request: ChangeRequest) -> dict[str, Any]:
        """Ask the coordinator to apply ``request`` in every worker; its report."""
        assert self._channel is not None
        try:
            return await self._channel.request(
                {"op": "deploy", "change": request.as_dict()}, DEPLOY_TIMEOUT
            )
        except (ChannelClosed, TimeoutError) as error:
            raise HTTPError(503, f"the workers' coordinator did not answer: {error}") from None

    async def status(self) -> dict[str, Any]:
        """Every worker's status, merged by the coordinator."""
        assert self._channel is not None
        try:
            return await self._channel.request({"op": "status"}, STATUS_TIMEOUT)
        except (ChannelClosed, TimeoutError) as error:
            raise HTTPError(503, f"the workers' coordinator did not answer: {error}") from None

    # -- asked by the coordinator -------------------------------------------------

    async def _handle(self, message: Message) -> Message:
        assert self.host is not None
        op = message.get("op")
        if op == "status":
            return status_document(self.host)
        if op == "prepare":
            pending = _Pending()
            self._pending[message["change_id"]] = pending
            task = asyncio.create_task(
                self._transact(ChangeRequest.from_dict(message["change"]), pending)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return await pending.prepared
        if op in ("commit", "abort"):
            pending_for = self._pending.pop(message["change_id"], None)
            if pending_for is None:
                return {"ok": False, "error": "no such change prepared here"}
            if not pending_for.decision.done():
                pending_for.decision.set_result((op == "commit", message.get("reason", "")))
            return await pending_for.done
        return {"ok": False, "error": f"unknown request {op!r}"}

    async def _transact(self, request: ChangeRequest, pending: _Pending) -> None:
        host = self.host
        assert host is not None
        try:
            config = read_config(host, request)
        except ConfigError as error:
            pending.prepared.set_result({"ok": False, "error": str(error), "failures": {}})
            await pending.decision
            pending.done.set_result({"ok": False, "at": time.time(), "plugins": []})
            return
        before = {name: version.number for name, version in host.versions.items()}
        try:
            async with host.transaction(config, quiet=True) as transaction:
                await stage_change(host, transaction, request)
                ok = await transaction.prepare()
                failures = {name: str(error) for name, error in transaction.failures.items()}
                pending.prepared.set_result(
                    {"ok": ok, "error": None, "failures": failures, "staged": transaction.names}
                )
                try:
                    commit, reason = await asyncio.wait_for(pending.decision, DECISION_TIMEOUT)
                except TimeoutError:
                    commit, reason = False, "the coordinator did not decide in time"
                if commit and ok:
                    results = transaction.commit()
                else:
                    results = await transaction.abort(reason)
            found = [o.as_dict() for o in outcomes(results, before, host)]
            pending.done.set_result({"ok": commit and ok, "at": time.time(), "plugins": found})
        except Exception as error:
            logger.exception("applying a change failed")
            for future in (pending.prepared, pending.done):
                if not future.done():
                    future.set_result({"ok": False, "error": f"{type(error).__name__}: {error}"})
