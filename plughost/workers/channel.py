"""JSON messages over a local stream socket: requests and replies, in both directions.

Each message is one line of JSON. A request carries ``id``; its reply carries
``reply_to`` with that id. Either side may send requests while it waits for a
reply, so a worker can ask the coordinator to reload while the coordinator
asks that same worker to prepare.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

__all__ = ["LIMIT", "Channel", "ChannelClosed"]

logger: Final = logging.getLogger("plughost.workers")
#: longest message, in bytes (a status document of many plugins is large)
LIMIT: Final = 64 * 1024 * 1024

Message = dict[str, Any]

# The two phases' bounds, in one place: a prepared worker waits for the decision longer
# than the coordinator waits for the slowest worker to prepare, so a quick worker never
# aborts on its own while the others commit.
#: seconds the coordinator gives every worker to prepare a change
PREPARE_TIMEOUT: Final = 60.0
#: seconds it gives every worker to commit or abort
DECIDE_TIMEOUT: Final = 30.0
#: seconds a prepared worker waits for the coordinator's decision before it aborts
DECISION_TIMEOUT: Final = PREPARE_TIMEOUT + DECIDE_TIMEOUT
Handler = Callable[[Message], Awaitable[Message]]


class ChannelClosed(ConnectionError):
    """The other side went away before it replied."""


class Channel:
    """One connection between the coordinator and a worker."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Message]] = {}
        self._handling: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()

    async def run(self) -> None:
        """Read messages until the connection closes; answer each request in its own task."""
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                message: Message = json.loads(line)
                reply_to = message.pop("reply_to", None)
                if reply_to is not None:
                    waiter = self._waiting.pop(reply_to, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(message)
                    continue
                task = asyncio.ensure_future(self._answer(message))
                self._handling.add(task)
                task.add_done_callback(self._handling.discard)
        except (ConnectionError, ValueError, asyncio.IncompleteReadError) as error:
            logger.debug("channel closed: %s", error)
        finally:
            self._closed()

    def _closed(self) -> None:
        self.closed.set()
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(ChannelClosed("the other side went away"))
        self._waiting.clear()
        self._writer.close()

    async def _answer(self, message: Message) -> None:
        request_id = message.get("id")
        try:
            reply = await self._handler(message)
        except Exception as error:
            logger.exception("handling %r failed", message.get("op"))
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        if request_id is not None and not self.closed.is_set():
            await self._send({**reply, "reply_to": request_id})

    async def _send(self, message: Message) -> None:
        self._writer.write(json.dumps(message).encode() + b"\n")
        await self._writer.drain()

    async def request(self, message: Message, timeout: float) -> Message:
        """Send a request and wait ``timeout`` seconds for its reply.

        Raises:
            ChannelClosed: the connection closed first.
            TimeoutError: no reply in time.
        """
        if self.closed.is_set():
            raise ChannelClosed("the other side went away")
        request_id = next(self._ids)
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        try:
            await self._send({**message, "id": request_id})
            return await asyncio.wait_for(waiter, timeout)
        except ConnectionError as error:
            raise ChannelClosed(str(error)) from error
        finally:
            self._waiting.pop(request_id, None)

    async def notify(self, message: Message) -> None:
        """Send a message that expects no reply."""
        await self._send(message)

    async def aclose(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except ConnectionError:
            pass
