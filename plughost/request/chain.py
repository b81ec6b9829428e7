"""A route's call chain: the endpoint inside its wrappers, async or Bottle-style sync.

A plughost wrapper is an ``async def`` around an async callback. A Bottle
wrapper is a plain ``def`` that calls its callback and uses the result. Both
nest in one chain. Consecutive sync layers (sync wrappers, a ``def`` endpoint)
run together in one worker thread; a sync wrapper around an async callback
gets a bridge that runs the callback on the event loop and waits for it in the
thread. Async wrappers around async callbacks get exactly what they always
got: the async callback itself, with nothing in between.

Which kind of callback a wrapper wants is learned from what its ``apply``
returns: a coroutine function for an async callback, a plain callable for a
sync one. A wrapper is offered the kind it wanted last time (async first);
when the result does not match, ``apply`` is called once more with the other
kind, as Bottle itself re-applies wrappers whenever a route is reset.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final, Protocol

from ..errors import BadRequest, PluginError
from . import bottle_compat

if TYPE_CHECKING:
    from ..typedefs import Callback
    from .offload import SyncCall


class RouteView(Protocol):
    """What the chain reads of a :class:`~plughost.request.routes.Route`."""

    @property
    def callback(self) -> Callable[..., Any]: ...
    @property
    def method(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def plugin(self) -> str | None: ...


class WrapperView(Protocol):
    """What the chain uses of a probed wrapper (:class:`~plughost.request.routes.Wrapper`)."""

    #: "async" or "sync": the kind of callback ``apply`` wanted last time
    style: str

    @property
    def apply(self) -> Callable[[Callable[..., Any], Any], object]: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def label(self) -> str: ...


__all__ = ["Link", "endpoint_link", "wrap"]

#: (the event loop, how many sync segments the current call is nested in)
_SEGMENT: Final[contextvars.ContextVar[tuple[asyncio.AbstractEventLoop, int] | None]] = (
    contextvars.ContextVar("plughost_segment", default=None)
)
_nested_executors: dict[int, ThreadPoolExecutor] = {}


def _executor(depth: int) -> ThreadPoolExecutor | None:
    """The loop's default executor at depth 0; one pool per deeper nesting level.

    A sync segment waiting (through a bridge) on an inner sync segment holds its
    worker thread. Inner segments therefore run in another pool, so a full pool
    of waiting outer segments can never starve the inner ones they wait for.
    """
    if depth == 0:
        return None
    executor = _nested_executors.get(depth)
    if executor is None:
        workers = min(32, (os.cpu_count() or 1) + 4)
        executor = _nested_executors[depth] = ThreadPoolExecutor(
            workers, thread_name_prefix=f"plughost-nested-{depth}"
        )
    return executor


def _in_thread(function: Callable[..., Any], *, bottle_style: bool) -> Callback:
    """A coroutine function running ``function`` (a sync segment) in a worker thread."""

    async def run_in_thread(*args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        segment = _SEGMENT.get()
        depth = segment[1] if segment is not None else 0
        context = contextvars.copy_context()
        return await loop.run_in_executor(
            _executor(depth),
            functools.partial(
                context.run, _enter, loop, depth + 1, bottle_style, function, args, kwargs
            ),
        )

    return run_in_thread


def _enter(
    loop: asyncio.AbstractEventLoop,
    depth: int,
    bottle_style: bool,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """In the worker thread: note the loop for bridges, bind Bottle's globals, call."""
    _SEGMENT.set((loop, depth))
    if bottle_style:
        view = bottle_compat.current_view()
        if view is not None:
            return view.call(function, args, kwargs)
    return function(*args, **kwargs)


def _bridge(call: Callback) -> Callable[..., Any]:
    """A sync callable that runs the async ``call`` on the loop and waits in the thread."""

    def bridge(*args: Any, **kwargs: Any) -> Any:
        segment = _SEGMENT.get()
        if segment is None:
            raise RuntimeError(
                "a sync wrapper called its callback outside the worker thread plughost ran it in"
            )
        future = asyncio.run_coroutine_threadsafe(_awaited(call(*args, **kwargs)), segment[0])
        return future.result()

    return bridge


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class Link:
    """The chain built so far: a coroutine function, and a sync form when there is one."""

    __slots__ = ("_bridge", "call", "sync")

    def __init__(self, call: Callback, sync: Callable[..., Any] | None = None) -> None:
        #: the chain as a coroutine function (what ``route.call`` is)
        self.call = call
        #: the chain as a plain callable for a worker thread, when its outer layer is sync
        self.sync = sync
        self._bridge: Callable[..., Any] | None = None

    def sync_form(self) -> Callable[..., Any]:
        """What a sync wrapper receives: the sync chain, or a bridge to the async one."""
        if self.sync is not None:
            return self.sync
        if self._bridge is None:
            self._bridge = _bridge(self.call)
            _copy_metadata(self._bridge, self.call)
        return self._bridge


def endpoint_link(
    callback: Callable[..., Any], required: tuple[str, ...], offload: SyncCall | None = None
) -> Link:
    """The innermost link: the endpoint, checking its required arguments.

    A ``def`` endpoint runs in a worker thread, or, given ``offload``, wherever that
    says: on the event loop once it proved quick (see :mod:`plughost.request.offload`).
    """
    if inspect.iscoroutinefunction(callback):
        if not required:
            return Link(callback)

        async def call_async(**kwargs: Any) -> Any:
            _check(required, kwargs)
            return await callback(**kwargs)

        _copy_metadata(call_async, callback)
        return Link(call_async)

    def call_sync(*args: Any, **kwargs: Any) -> Any:
        _check(required, kwargs)
        return callback(*args, **kwargs)

    _copy_metadata(call_sync, callback)
    call_in_thread = _in_thread(call_sync, bottle_style=False)
    if offload is not None:
        call_on_trial = _in_thread(offload.timed(call_sync), bottle_style=False)
        in_thread = call_in_thread

        async def call_in_thread(*args: Any, **kwargs: Any) -> Any:
            if offload.inline:
                return offload.call_inline(call_sync, *args, **kwargs)
            if offload.on_trial:
                return await call_on_trial(*args, **kwargs)
            return await in_thread(*args, **kwargs)

    _copy_metadata(call_in_thread, callback)
    return Link(call_in_thread, call_sync)


def _check(required: tuple[str, ...], kwargs: dict[str, Any]) -> None:
    for name in required:
        if name not in kwargs:
            raise BadRequest(f"missing required argument {name!r}")


def wrap(wrapper: WrapperView, link: Link, route: RouteView) -> Link | None:
    """Apply ``wrapper`` around ``link`` for ``route``; None when it does not apply.

    Raises:
        PluginError: ``apply`` raised, or returned something that cannot be
            called with the callback it was given; names the wrapper and the route.
    """
    offer_sync = wrapper.style == "sync"
    for attempt in range(2):
        offered = link.sync_form() if offer_sync else link.call
        result = _apply(wrapper, offered, route)
        if result is offered:
            return None
        if not callable(result):
            raise _cannot_apply(wrapper, route, f"apply() returned {result!r}, not a callable")
        wrapped: Callable[..., Any] = result
        if inspect.iscoroutinefunction(result) != offer_sync:
            wrapper.style = "sync" if offer_sync else "async"
            break
        if attempt == 1:
            raise _cannot_apply(
                wrapper,
                route,
                "apply() returned a plain function for an async callback and a coroutine "
                "function for a sync one",
                hint="return an `async def` that awaits an async callback, or a plain "
                "`def` that calls a sync one",
            )
        offer_sync = not offer_sync
    _copy_metadata(wrapped, route.callback)
    if not offer_sync:
        return Link(wrapped)
    runner = _in_thread(wrapped, bottle_style=True)
    _copy_metadata(runner, route.callback)
    return Link(runner, wrapped)


def _apply(wrapper: WrapperView, callback: Callable[..., Any], route: RouteView) -> object:
    try:
        return wrapper.apply(callback, route)
    except Exception as error:
        reason = f"apply() raised {type(error).__name__}: {error}"
        raise _cannot_apply(wrapper, route, reason) from error


def _cannot_apply(
    wrapper: WrapperView, route: RouteView, reason: str, hint: str | None = None
) -> PluginError:
    installer = f" (installed by plugin {wrapper.owner!r})" if wrapper.owner else ""
    return PluginError(
        f"wrapper {wrapper.label!r}{installer} cannot wrap {route.method} {route.rule}"
        f"{f' of plugin {route.plugin!r}' if route.plugin else ''}: {reason}",
        plugin=wrapper.owner,
        hint=hint,
    )


def _copy_metadata(wrapper: object, wrapped: object) -> None:
    try:
        functools.update_wrapper(wrapper, wrapped)  # type: ignore[arg-type]
    except (AttributeError, TypeError):  # bound methods and other callables without a __dict__
        pass
