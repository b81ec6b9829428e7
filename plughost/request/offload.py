"""Running a plugin's sync code: on the event loop while it proves quick, else in a thread.

A hop to a worker thread costs far more than a small handler itself (about 100 µs of
CPU, most of it handing the interpreter lock back and forth), so a :class:`SyncCall`
earns the right to run on the event loop:

1. On trial: its first :data:`TRIAL_CALLS` calls run in worker threads, each timed
   there. A call that overruns the budget *because the function blocked* (slept,
   waited on I/O, on a lock, or on another request) or computed for longer than the
   budget keeps it in the threads for good.
2. Inline: once every trial call was quick, calls run directly on the event loop, still
   timed. The first that overruns the budget the same way moves it to the threads for
   good: one stall, then never again.

A call that merely waited for a CPU, because the operating system ran something else
meanwhile, does not count; the thread's voluntary context switches and CPU time tell
the two apart. Where they cannot be read (``RUSAGE_THREAD`` is Linux-only), any
overrun counts.

``sync_to_thread`` (per route, per ``BasePlugin`` class, or ``[server]`` for all)
skips the trial: the function runs in worker threads only.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any, Final, final

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

__all__ = ["DEFAULT_BUDGET", "TRIAL_CALLS", "SyncCall"]

logger: Final = logging.getLogger("plughost.request")
#: seconds a sync call may take before it counts as an overrun; above the interpreter's
#: 5 ms switch interval, so that waiting for the GIL behind another thread never counts
DEFAULT_BUDGET: Final = 0.006
#: calls made in worker threads, each within the budget, before calls run inline
TRIAL_CALLS: Final = 8
_perf_counter: Final = time.perf_counter
_ON_LOOP: Final = "on the event loop"


#: this thread's resource usage so far (voluntary switches, CPU time), or None where unknown
_usage: Final[Callable[[], Any]] = (
    functools.partial(resource.getrusage, resource.RUSAGE_THREAD)
    if hasattr(resource, "RUSAGE_THREAD")
    else lambda: None
)


@final
class SyncCall:
    """How one sync endpoint runs: inline once it proved quick, else in worker threads.

    It holds the state, not the function: the call chain passes the function in, so
    that its own thread hand-off (with what it sets up in the thread) is the one used.

    Args:
        label: how log lines name it, for example ``"<Route GET /hello of 'hello'>"``.
        to_thread: run in worker threads only (``sync_to_thread``).
        budget: seconds a call may take; see the module docstring.
    """

    __slots__ = ("_async", "budget", "inline", "label", "moved_after", "to_thread", "trial")

    def __init__(
        self, label: str, *, to_thread: bool = False, budget: float = DEFAULT_BUDGET
    ) -> None:
        self.label = label
        self.budget = budget
        #: forced into the threads by configuration
        self.to_thread = to_thread
        #: quick trial calls still to make before calls run inline
        self.trial = TRIAL_CALLS
        #: how long, in seconds, the call that moved it to the threads took; None until then
        self.moved_after: float | None = None
        #: True while calls run on the event loop
        self.inline = False
        self._async: tuple[object, bool] = (None, False)

    def is_async(self, handler: Callable[..., Any]) -> bool:
        """Whether ``handler`` (a function or bound method) is a coroutine function; the
        answer is kept for the function, as inspect's check costs about a microsecond."""
        function = getattr(handler, "__func__", handler)
        known, answer = self._async
        if known is not function:
            answer = inspect.iscoroutinefunction(handler)
            self._async = (function, answer)
        return answer

    def configure(self, *, to_thread: bool) -> None:
        """Force the threads, or not; an endpoint moved to the threads stays there."""
        self.to_thread = to_thread
        self.inline = not to_thread and self.trial == 0 and self.moved_after is None

    @property
    def on_trial(self) -> bool:
        """True while calls run in worker threads to prove the endpoint quick."""
        return self.trial > 0 and not self.to_thread and self.moved_after is None

    async def run(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call ``function`` where it belongs now: inline, on trial, or in a worker thread."""
        if self.inline:
            return self.call_inline(function, *args, **kwargs)
        if self.on_trial:
            function = self.timed(function)
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        call = functools.partial(context.run, function, *args, **kwargs)
        return await loop.run_in_executor(None, call)

    def call_inline(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call on this thread (the event loop's), and judge how long the call took."""
        before = _usage()
        started = _perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            took = _perf_counter() - started
            if took > self.budget:
                self._judge(took, before, _ON_LOOP)

    def timed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` as a trial call: to be run in a worker thread, which times it."""

        def on_trial(*args: Any, **kwargs: Any) -> Any:
            before = _usage()
            started = _perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                took = _perf_counter() - started
                if took <= self.budget or not self._judge(took, before, "in a worker thread"):
                    self._passed()

        return on_trial

    def _passed(self) -> None:
        # Runs in a worker thread: each attribute write is atomic under the GIL, and a
        # lost decrement between two racing trial calls only lengthens the trial.
        if self.trial > 0:
            self.trial -= 1
        if not self.trial and self.moved_after is None and not self.to_thread:
            self.inline = True

    def _judge(self, took: float, before: Any, where: str) -> bool:
        """True, and the endpoint runs in the threads for good, if the overrun was its own."""
        after = _usage()
        if before is None or after is None:  # pragma: no cover - not Linux
            blocked, computed = False, took
        else:
            blocked = after.ru_nvcsw > before.ru_nvcsw
            computed = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            if not blocked and computed <= self.budget:
                # The call only waited for a CPU; it did not hold anything up itself.
                return False
        self.inline = False
        self.trial = 0
        if self.moved_after is not None:
            return True  # another call, running at the same time, moved it already
        self.moved_after = took
        why = "it blocked" if blocked else f"it computed for {computed * 1000:.1f} ms"
        # On the loop, the call held up every other request: that is worth a warning.
        logger.log(
            logging.WARNING if where == _ON_LOOP else logging.INFO,
            "%s: a sync call took %.1f ms %s (%s), so it runs in worker threads from now "
            "on. Declare it sync_to_thread=True to say so, or make it async",
            self.label,
            took * 1000,
            where,
            why,
        )
        return True
