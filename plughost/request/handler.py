"""Each route's request handler, compiled once from the hook plugins that apply to it.

The eleven hooks run in :data:`~plughost.request.context.HOOK_NAMES` order, with
Flask-Micron's ``normalize_input`` and ``validate_input`` right after ``process_input``;
an empty stage costs nothing, and a stage of one async hook is awaited directly.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, Final

from .bottle_compat import carry_headers, with_view
from .context import SINGLE_HOOKS, STAGE_NAMES, CheckedContext, Context
from .defaults import BODY_METHODS, DEFAULT_HOOKS, arguments, read_input
from .hooks import HookSet
from .responses import error_response, exception_response, to_response

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest
    from aiohttp.web_response import StreamResponse

    from ..typedefs import Handler
    from .routes import Route

__all__ = ["compile_handler", "effective_hooks"]

logger: Final = logging.getLogger("plughost.pipeline")

_Stage = tuple[tuple[str, Callable[[Context], Any], bool], ...]


def _applies(hooks: HookSet, route: Route) -> bool:
    skip = route.skip
    if not skip or hooks.always:
        return True
    if True in skip:
        return False
    for item in skip:
        if item is hooks.source or item == hooks.owner or item == hooks.label:
            return False
        if isinstance(item, type) and isinstance(hooks.source, item):
            return False
    return True


def effective_hooks(route: Route, hook_sets: Iterable[HookSet]) -> dict[str, tuple[str, ...]]:
    """Per hook, the plugins whose implementation runs for ``route``, in order."""
    stages = _stages(route, hook_sets)
    return {
        name: tuple(label for label, _, _ in stages[name]) for name in STAGE_NAMES if stages[name]
    }


def _stages(route: Route, hook_sets: Iterable[HookSet]) -> dict[str, _Stage]:
    collected: dict[str, list[tuple[str, Callable[[Context], Any], bool]]] = {
        name: [] for name in STAGE_NAMES
    }
    for hooks in hook_sets:
        if not _applies(hooks, route):
            continue
        for name, hook in hooks.functions.items():
            entry = (hooks.label, hook.function, hook.is_async)
            if name in SINGLE_HOOKS:
                collected[name] = [entry]
            else:
                collected[name].append(entry)
    return {name: tuple(entries) for name, entries in collected.items()}


async def _run(stage: _Stage, context: Context) -> None:
    for _, function, is_async in stage:
        if is_async:
            await function(context)
        else:
            result = function(context)
            # An async hook behind a plain decorator looks sync: await what it returns.
            if result is not None and inspect.isawaitable(result):
                await result


def _checked_runner(hook: str) -> Callable[[_Stage, Context], Any]:
    async def run(stage: _Stage, context: Context) -> None:
        assert isinstance(context, CheckedContext)
        for label, function, is_async in stage:
            context.enter(hook, label)
            try:
                if is_async:
                    await function(context)
                else:
                    result = function(context)
                    if result is not None and inspect.isawaitable(result):
                        await result
            finally:
                context.enter(None, "")  # type: ignore[arg-type]

    return run


_Step = Callable[[Context], Awaitable[None]]
#: a step that returns None when its hooks all ran synchronously, else something to
#: :func:`_settle`: an awaitable, or whatever a lone ``def`` hook returned
_Quick = Callable[[Context], object]


def _step(stage: _Stage, runner: Callable[[_Stage, Context], Awaitable[None]]) -> _Step | None:
    """One awaitable per stage: None when empty, a lone async hook itself, else a loop."""
    if not stage:
        return None
    if len(stage) == 1 and stage[0][2] and runner is _run:
        return stage[0][1]
    return functools.partial(runner, stage)


def _quick(stage: _Stage, runner: Callable[[_Stage, Context], Awaitable[None]]) -> _Quick | None:
    """As :func:`_step`, but a stage of ``def`` hooks runs as a plain call: no coroutine
    per stage per request, which is most of what a no-op hook costs."""
    if stage and runner is _run and not any(is_async for _, _, is_async in stage):
        if len(stage) == 1:
            return stage[0][1]
        return functools.partial(_run_sync, stage)
    return _step(stage, runner)


def _run_sync(stage: _Stage, context: Context) -> Awaitable[None] | None:
    for index, (_, function, _) in enumerate(stage):
        result = function(context)
        # An async hook behind a plain decorator looks sync: await what it returns.
        if result is not None and inspect.isawaitable(result):
            return _resume(result, stage[index + 1 :], context)
    return None


async def _resume(pending: Awaitable[Any], rest: _Stage, context: Context) -> None:
    await pending
    await _run(rest, context)


def _sequence(*steps: _Quick | None) -> _Quick | None:
    """One step running the given ones in order (Micron's input hooks after process_input)."""
    present = [step for step in steps if step is not None]
    if len(present) <= 1:
        return present[0] if present else None

    async def run_in_order(context: Context) -> None:
        for step in present:
            pending = step(context)
            if pending is not None and isawaitable(pending):
                await pending

    return run_in_order


def compile_handler(route: Route, hook_sets: Sequence[HookSet], *, debug: bool = False) -> Handler:
    """Build ``route``'s request handler: the eleven hooks, skipping the empty ones."""
    stages = _stages(route, hook_sets)
    if not debug and not route.sync_wrapped and _defaults_only(stages):
        return _direct(route)
    runners = {name: (_checked_runner(name) if debug else _run) for name in STAGE_NAMES}
    steps = {name: _quick(stages[name], runners[name]) for name in STAGE_NAMES}
    singles = {name: _step(stages[name], runners[name]) for name in SINGLE_HOOKS}
    start, check, after_check = (
        steps["start_request"],
        steps["check_access"],
        steps["after_check_access"],
    )
    process_input = _sequence(
        steps["process_input"], steps["normalize_input"], steps["validate_input"]
    )
    process_output = steps["process_output"]
    read, call, create = (
        singles["read_input"],
        singles["call_function"],
        singles["create_response"],
    )
    # The default hooks provide every [single] hook, so these stages are never empty.
    assert read is not None and call is not None and create is not None
    if route.sync_wrapped:
        call, create = with_view(call, route), carry_headers(create)
    errors = stages["process_error"]
    process_response = steps["process_response"]
    end = stages["end_request"]
    where = repr(route)
    context_class = CheckedContext if debug else Context
    run_errors, run_end = runners["process_error"], runners["end_request"]
    quick_end = run_end is _run and not any(is_async for _, _, is_async in end)

    # The host's own single hooks, run inline rather than as one coroutine each.
    default_read = read is _DEFAULTS["read_input"]
    default_call = call is _DEFAULTS["call_function"] and not route.sync_wrapped
    default_create = create is _DEFAULTS["create_response"]
    chain, plugin = route.call, route.plugin
    takes_nothing = not route.signature.names and not route.signature.takes_all
    # A lone def end_request hook: called inline, as _guarded_sync would call it.
    end_one = end[0][1] if quick_end and len(end) == 1 else None
    end_label = end[0][0] if end_one is not None else ""

    async def handle(request: BaseRequest, match: Mapping[str, str]) -> StreamResponse:
        context = context_class(request, route, match)
        try:
            if (
                start is not None
                and (pending := start(context)) is not None
                and isawaitable(pending)
            ):
                await pending
            if (
                check is not None
                and (pending := check(context)) is not None
                and isawaitable(pending)
            ):
                await pending
            if (
                after_check is not None
                and (pending := after_check(context)) is not None
                and isawaitable(pending)
            ):
                await pending
            if default_read:
                if not request.query_string and not match and request.method not in BODY_METHODS:
                    context.input = {"request_headers": request.headers}
                else:
                    context.input = await read_input(request, match)
            else:
                await read(context)
            if (
                process_input is not None
                and (pending := process_input(context)) is not None
                and isawaitable(pending)
            ):
                await pending
            if default_call:
                if takes_nothing:
                    context.output = await chain()
                else:
                    context.output = await chain(**arguments(route, context.input, request))
            else:
                await call(context)
            if (
                process_output is not None
                and (pending := process_output(context)) is not None
                and isawaitable(pending)
            ):
                await pending
            if default_create:
                context.response = to_response(context.output, plugin)
            else:
                await create(context)
        except Exception as error:
            context.error = error
            context.response = None
            if errors:
                await _guarded(run_errors, errors, context, where, "process_error")
            if context.response is None:
                if context.error is None:
                    # A process_error hook handled the error and left an output.
                    try:
                        await create(context)
                    except Exception as create_error:
                        context.response = exception_response(
                            create_error, debug=debug, where=where
                        )
                else:
                    context.response = exception_response(context.error, debug=debug, where=where)
        if context.response is None:
            context.response = error_response(
                500,
                "Internal Server Error",
                detail="create_response set no response" if debug else None,
            )
        if process_response is not None:
            try:
                if (pending := process_response(context)) is not None and isawaitable(pending):
                    await pending
            except Exception as error:
                context.response = exception_response(error, debug=debug, where=where)
        if end_one is not None:
            try:
                result = end_one(context)
            except Exception:
                logger.exception("%s: %s hook of %r raised", where, "end_request", end_label)
            else:
                if result is not None and inspect.isawaitable(result):
                    await _finish_end(result, end_label, (), context, where)
        elif end:
            if quick_end:
                if (pending := _guarded_sync(end, context, where)) is not None:
                    await pending
            else:
                await _guarded(run_end, end, context, where, "end_request")
        return context.response

    return handle


_DEFAULTS: Final = {name: hook.function for name, hook in DEFAULT_HOOKS.functions.items()}


def _defaults_only(stages: dict[str, _Stage]) -> bool:
    """True when only the host's own read_input, call_function and create_response run."""
    for name in STAGE_NAMES:
        stage = stages[name]
        default = _DEFAULTS.get(name)
        if default is None:
            if stage:
                return False
        elif len(stage) != 1 or stage[0][1] is not default:
            return False
    return True


def _direct(route: Route) -> Handler:
    """The handler of a route no plugin hooks into: the default hooks' work, with no
    :class:`Context` and no hook calls, so that it costs what a bare aiohttp handler does.

    It answers exactly as the full pipeline would with the default hooks alone.
    """
    call = route.call
    plugin = route.plugin
    where = repr(route)
    signature = route.signature
    takes_nothing = not signature.names and not signature.takes_all

    async def handle(request: BaseRequest, match: Mapping[str, str]) -> StreamResponse:
        try:
            if not match and not request.query_string and request.method not in BODY_METHODS:
                # The request's only input is its headers: read_input's work, inline.
                if takes_nothing:
                    output = await call()
                else:
                    data = {"request_headers": request.headers}
                    output = await call(**arguments(route, data, request))
            else:
                data = await read_input(request, match)
                output = await call(**arguments(route, data, request))
            return to_response(output, plugin)
        except Exception as error:
            return exception_response(error, debug=False, where=where)

    return handle


def _guarded_sync(stage: _Stage, context: Context, where: str) -> Awaitable[None] | None:
    """:func:`_guarded` for end_request hooks that are all ``def``: plain calls. Returns
    what is left to await when one returned an awaitable (an async hook behind a
    plain decorator)."""
    for index, (label, function, _) in enumerate(stage):
        try:
            result = function(context)
        except Exception:
            logger.exception("%s: %s hook of %r raised", where, "end_request", label)
            continue
        if result is not None and inspect.isawaitable(result):
            return _finish_end(result, label, stage[index + 1 :], context, where)
    return None


async def _finish_end(
    pending: Awaitable[Any], label: str, rest: _Stage, context: Context, where: str
) -> None:
    try:
        await pending
    except Exception:
        logger.exception("%s: %s hook of %r raised", where, "end_request", label)
    await _guarded(_run, rest, context, where, "end_request")


async def _guarded(
    runner: Callable[[_Stage, Context], Any], stage: _Stage, context: Context, where: str, hook: str
) -> None:
    """Run every function of ``stage``; one that raises is logged and the rest still run."""
    for entry in stage:
        try:
            await runner((entry,), context)
        except Exception:
            logger.exception("%s: %s hook of %r raised", where, hook, entry[0])
