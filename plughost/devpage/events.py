"""The reload history and the server-sent event stream behind the live page.

The :class:`EventHub` listens to the host's status changes: each one becomes a
:class:`ReloadEvent`, kept in a short history and sent to every open
``/_plughost/events`` stream, where the page (and the livereload script of a
plugin's own page) picks it up.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from aiohttp import web

from ..host import PluginState, PluginStatus

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["HISTORY", "EventHub", "Outcome", "ReloadEvent", "outcome_of"]

#: how many events the history keeps
HISTORY: Final = 50
#: what one status change means to a person
Outcome = Literal["loaded", "reloaded", "refused", "failed", "disabled", "missing"]
#: seconds between keep-alive comments, which also notice a client that went away
HEARTBEAT: Final = 15.0
#: milliseconds a browser waits before reconnecting to a stream that dropped
RETRY_MS: Final = 1000
_BACKLOG: Final = 256


@dataclass(frozen=True, slots=True)
class ReloadEvent:
    """One change of one plugin's status."""

    plugin: str
    outcome: Outcome
    #: the version serving after the change (0: none ever loaded)
    version: int
    #: when it happened (time.time())
    at: float
    #: how long the load took, or None for a disable
    seconds: float | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "outcome": self.outcome,
            "version": self.version,
            "at": self.at,
            "load_ms": round(self.seconds * 1000, 2) if self.seconds is not None else None,
            "error": self.error,
        }


def outcome_of(status: PluginStatus, previous: PluginStatus | None) -> Outcome:
    """Name the change from ``previous`` to ``status``."""
    if status.state is PluginState.DISABLED:
        return "disabled"
    if status.state is PluginState.MISSING:
        return "missing"
    if status.state is PluginState.ERROR:
        return "failed"
    if status.error is not None:
        return "refused"
    if previous is None or previous.state is not PluginState.LOADED or status.version <= 1:
        return "loaded"
    return "reloaded"


class EventHub:
    """Keeps the last :data:`HISTORY` events and streams new ones to every listener.

    Args:
        host: the host whose status changes to follow; the hub subscribes at once,
            and its streams end when the host shuts down.
    """

    def __init__(self, host: Host, *, heartbeat: float = HEARTBEAT) -> None:
        self.heartbeat = heartbeat
        #: the newest event last
        self.history: deque[ReloadEvent] = deque(maxlen=HISTORY)
        self._last: dict[str, PluginStatus] = {}
        self._streams: set[asyncio.Queue[ReloadEvent | None]] = set()
        self._closed = False
        host.status_listeners.append(self.record)
        host.on_shutdown.append(self.close)

    def record(self, status: PluginStatus) -> None:
        """Turn a status change into an event: remember it and send it to every stream."""
        previous = self._last.get(status.name)
        self._last[status.name] = status
        event = ReloadEvent(
            plugin=status.name,
            outcome=outcome_of(status, previous),
            version=status.version,
            at=time.time(),
            seconds=status.seconds,
            error=status.error,
        )
        self.history.append(event)
        for queue in list(self._streams):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # A client this far behind is gone or stuck; it reconnects if it is alive.
                self._streams.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)

    async def close(self) -> None:
        """End every open stream, so the server can stop without waiting for them."""
        self._closed = True
        for queue in self._streams:
            while queue.full():
                queue.get_nowait()
            queue.put_nowait(None)

    async def stream(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answer ``request`` with an event stream of every event from now on."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        if self._closed:
            response.set_status(503)
            return response
        queue: asyncio.Queue[ReloadEvent | None] = asyncio.Queue(_BACKLOG)
        self._streams.add(queue)
        try:
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            while True:
                try:
                    async with asyncio.timeout(self.heartbeat):
                        event = await queue.get()
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event is None:
                    break
                await response.write(_encode(event))
        except ConnectionResetError:
            pass
        finally:
            self._streams.discard(queue)
        return response


def _encode(event: ReloadEvent) -> bytes:
    return f"event: plugin\ndata: {json.dumps(event.as_dict())}\n\n".encode()
