"""The request context every hook receives, and the rules for what each hook may write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ..errors import PluginError

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest
    from aiohttp.web_response import StreamResponse

    from ..typedefs import Callback
    from .routes import Route

__all__ = [
    "HOOK_NAMES",
    "MICRON_INPUT_HOOKS",
    "SINGLE_HOOKS",
    "STAGE_NAMES",
    "WRITABLE",
    "CheckedContext",
    "Context",
]

#: the eleven hooks, in the order they run
HOOK_NAMES: Final = (
    "start_request",
    "check_access",
    "after_check_access",
    "read_input",
    "process_input",
    "call_function",
    "process_output",
    "create_response",
    "process_error",
    "process_response",
    "end_request",
)
#: Flask-Micron's names for what ``process_input`` does; they run right after it, in this order
MICRON_INPUT_HOOKS: Final = ("normalize_input", "validate_input")
#: every hook name a plugin may implement, in the order they run
STAGE_NAMES: Final = (*HOOK_NAMES[:5], *MICRON_INPUT_HOOKS, *HOOK_NAMES[5:])
#: hooks of which only the last-registered implementation runs
SINGLE_HOOKS: Final = frozenset({"read_input", "call_function", "create_response"})

#: the context fields each hook may assign; everything else is read-only to it.
#: ``state`` is a dict every hook may change but none may replace.
WRITABLE: Final[Mapping[str, frozenset[str]]] = {
    "start_request": frozenset(),
    "check_access": frozenset(),
    "after_check_access": frozenset(),
    "read_input": frozenset({"input"}),
    "process_input": frozenset({"input"}),
    "normalize_input": frozenset({"input"}),
    "validate_input": frozenset(),
    "call_function": frozenset({"output"}),
    "process_output": frozenset({"output"}),
    "create_response": frozenset({"response"}),
    "process_error": frozenset({"error", "output", "response"}),
    "process_response": frozenset({"response"}),
    "end_request": frozenset(),
}


class Context:
    """Everything about one request, passed to every hook.

    Attributes:
        request: the aiohttp request.
        route: the matched :class:`~plughost.request.routes.Route`.
        params: path parameters from the route's rule.
        input: keyword arguments for the endpoint, built by ``read_input``.
        output: what the endpoint returned.
        response: the aiohttp response, built by ``create_response``.
        error: the exception being handled, in ``process_error`` and after.
        state: a dict for plugins to share data across hooks of one request.
    """

    __slots__ = (
        "_hook",
        "_plugin",
        "error",
        "input",
        "output",
        "params",
        "request",
        "response",
        "route",
        "state",
    )

    def __init__(self, request: BaseRequest, route: Route, params: Mapping[str, str]) -> None:
        self.request = request
        self.route = route
        self.params = params
        self.input: dict[str, Any] = {}
        self.output: Any = None
        self.response: StreamResponse | None = None
        self.error: BaseException | None = None
        self.state: dict[str, Any] = {}

    @property
    def function(self) -> Callback:
        """The route's endpoint with every wrapper applied (``route.call``)."""
        return self.route.call

    @property
    def config(self) -> Mapping[str, Any]:
        """The route's own config (the keywords given to ``@plughost.route``)."""
        return self.route.config


class CheckedContext(Context):
    """A Context that, in debug mode, refuses writes a hook may not make."""

    __slots__ = ()

    def enter(self, hook: str, plugin: str) -> None:
        object.__setattr__(self, "_hook", hook)
        object.__setattr__(self, "_plugin", plugin)

    def __setattr__(self, field: str, value: object) -> None:
        hook = getattr(self, "_hook", None)
        if hook is not None and field not in WRITABLE[hook]:
            allowed = ", ".join(sorted(WRITABLE[hook])) or "nothing"
            plugin: str = getattr(self, "_plugin", "")
            raise PluginError(
                f"hook {hook!r} of plugin {plugin!r} assigned context.{field}, "
                f"which {hook} may only read (it may assign: {allowed})",
                plugin=plugin,
            )
        object.__setattr__(self, field, value)
