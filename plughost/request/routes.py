"""Routes and their cached wrapper chains.

A :class:`Route` follows Bottle's contract: ``call`` is the callback wrapped by
every applicable wrapper plugin, built on first use and cached until
:meth:`Route.reset`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import FunctionType, MappingProxyType
from typing import Any, Final, Protocol, TypeVar, final

from ..errors import NotAWrapperError, PluginError
from ..typedefs import Callback, Handler, Inflight
from .chain import endpoint_link, wrap
from .offload import SyncCall
from .routeconfig import RouteConfig

__all__ = ["ROUTES_ATTRIBUTE", "Route", "RouteSpec", "Wrapper", "route"]

ROUTES_ATTRIBUTE: Final = "__plughost_routes__"
_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """What ``@plughost.route(...)`` declares; the loader turns it into a Route."""

    rule: str
    methods: tuple[str, ...] = ("GET",)
    name: str | None = None
    skip: tuple[object, ...] = ()
    apply: tuple[object, ...] = ()
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def create(
        cls,
        rule: str,
        method: str | Iterable[str] = "GET",
        *,
        name: str | None = None,
        skip: object = None,
        apply: object = None,
        **config: Any,
    ) -> RouteSpec:
        """The one way a route is declared: ``@plughost.route``, ``handle.route``,
        ``handle.add_route`` and ``host.route`` all take these arguments."""
        return cls(
            rule=rule,
            methods=_methods(method),
            name=name,
            skip=_as_tuple(skip),
            apply=_as_tuple(apply),
            config=MappingProxyType(dict(config)),
        )


def _methods(method: str | Iterable[str]) -> tuple[str, ...]:
    methods = (method,) if isinstance(method, str) else tuple(method)
    return tuple(m.upper() for m in methods)


def _as_tuple(value: object) -> tuple[object, ...]:
    if value is None:
        return ()
    if value is True:
        return (True,)
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return (value,)


def route(
    rule: str,
    method: str | Iterable[str] = "GET",
    *,
    name: str | None = None,
    skip: object = None,
    apply: object = None,
    **config: Any,
) -> Callable[[_F], _F]:
    """Declare the decorated function as an endpoint at ``rule``.

    The function is returned unchanged; the plugin loader collects the
    declaration from the module. ``skip`` names wrappers not to apply (an
    instance, a name, a type, or ``True`` for all), ``apply`` adds route-local
    wrappers, and any other keyword becomes per-route config that wrappers
    read from ``route.config``.

    Example::

        @plughost.route("/items/{id}", method=["GET", "POST"], sqlite={"dbfile": "x.db"})
        async def item(id: str, db) -> dict: ...
    """
    spec = RouteSpec.create(rule, method, name=name, skip=skip, apply=apply, **config)

    def decorator(function: _F) -> _F:
        specs = list(getattr(function, ROUTES_ATTRIBUTE, ()))
        specs.append(spec)
        setattr(function, ROUTES_ATTRIBUTE, tuple(specs))
        return function

    return decorator


class WrapperSource(Protocol):
    """What a Route needs from its host: the wrappers installed there, in order, and
    whether every sync endpoint runs in a worker thread (``[server] sync_to_thread``)."""

    def installed(self) -> Sequence[Wrapper]: ...

    @property
    def sync_to_thread(self) -> bool: ...


@final
class Wrapper:
    """A probed wrapper plugin: ``plugin(callback)`` or ``plugin.apply(callback, route)``."""

    __slots__ = ("apply", "owner", "plugin", "style")

    def __init__(self, plugin: object, owner: str | None = None) -> None:
        if isinstance(plugin, type):
            raise NotAWrapperError(
                f"{plugin.__name__} is a class; install an instance of it", plugin=owner
            )
        apply = getattr(plugin, "apply", None)
        if callable(apply):
            self.apply: Callable[[Callable[..., Any], Route], object] = apply
        elif callable(plugin):
            self.apply = lambda callback, route: plugin(callback)
        else:
            raise NotAWrapperError(
                f"{plugin!r} is not a wrapper plugin",
                plugin=owner,
                hint="a wrapper is a callable, or an object with apply(callback, route)",
            )
        api = getattr(plugin, "api", 2)
        if api != 2:
            raise PluginError(f"{plugin!r} declares api = {api!r}; plughost supports api = 2")
        self.plugin = plugin
        #: the plugin that installed this wrapper, or None for the host itself
        self.owner = owner
        #: "async" or "sync": the kind of callback ``apply`` wanted last time
        self.style = "async"

    @property
    def name(self) -> str | None:
        """The plugin's ``name``, read each time it is used, as Bottle does."""
        name = getattr(self.plugin, "name", None)
        return name if isinstance(name, str) and name else None

    @property
    def label(self) -> str:
        name = self.name
        if name:
            return name
        label = getattr(self.plugin, "__name__", None)
        return label if isinstance(label, str) else type(self.plugin).__name__


class _Signature:
    """What a callback accepts, inspected once."""

    __slots__ = ("names", "required", "takes_all")

    def __init__(self, callback: Callable[..., Any]) -> None:
        if isinstance(callback, FunctionType) and not _signature_overridden(callback):
            self._read_code(callback)
            return
        names: list[str] = []
        required: list[str] = []
        takes_all = False
        for parameter in inspect.signature(callback).parameters.values():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                takes_all = True
            elif parameter.kind in (
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                inspect.Parameter.KEYWORD_ONLY,
            ):
                names.append(parameter.name)
                if parameter.default is inspect.Parameter.empty:
                    required.append(parameter.name)
        self.names: tuple[str, ...] = tuple(names)
        self.required: tuple[str, ...] = tuple(required)
        self.takes_all = takes_all

    def _read_code(self, function: FunctionType) -> None:
        """What ``inspect.signature`` finds, read off the code object: a plain function's
        signature that way costs a tenth of what inspect's does, per route loaded."""
        code = function.__code__
        positional = code.co_varnames[code.co_posonlyargcount : code.co_argcount]
        keyword_only = code.co_varnames[
            code.co_argcount : code.co_argcount + code.co_kwonlyargcount
        ]
        defaulted = min(len(function.__defaults__ or ()), len(positional))
        keyword_defaults = function.__kwdefaults__ or {}
        self.names = positional + keyword_only
        self.required = positional[: len(positional) - defaulted] + tuple(
            name for name in keyword_only if name not in keyword_defaults
        )
        self.takes_all = bool(code.co_flags & inspect.CO_VARKEYWORDS)


def _signature_overridden(function: FunctionType) -> bool:
    """True when ``inspect.signature`` would not read the function's own code."""
    attributes = vars(function)
    return any(
        name in attributes
        for name in ("__wrapped__", "__signature__", "__text_signature__", "_partialmethod")
    ) or hasattr(function, "__partialmethod__")


@final
class Route:
    """One endpoint: a rule, a method and a callback, plus Bottle's plugin machinery."""

    def __init__(
        self,
        rule: str,
        method: str,
        callback: Callable[..., Any],
        *,
        name: str | None = None,
        plugin: str | None = None,
        skip: Iterable[object] = (),
        plugins: Iterable[object] = (),
        config: Mapping[str, Any] | None = None,
        host: WrapperSource | None = None,
    ) -> None:
        if not rule.startswith("/"):
            raise PluginError(f"route rule {rule!r} must start with '/'", plugin=plugin)
        self.rule: Final = rule
        self.method: Final = method.upper()
        #: the original callback, as the plugin wrote it
        self.callback: Final = callback
        self.name: Final = name or getattr(callback, "__name__", None)
        #: the name of the plugin that owns this route, or None
        self.plugin: Final = plugin
        self.skip: Final = tuple(skip)
        #: route-local wrappers, applied inside the host's
        self.plugins: Final = [Wrapper(p, plugin) for p in plugins]
        #: the route's own keywords, by Bottle's dotted keys (``schemas.body``) or nested
        self.config: Final = RouteConfig(config or {})
        self.host = host
        self.signature: Final = _Signature(callback)
        #: how a sync endpoint runs (inline or in threads); None for a coroutine function.
        #: It outlives reset(): an endpoint moved to the threads stays there.
        self.offload: Final = (
            None if inspect.iscoroutinefunction(callback) else SyncCall(repr(self))
        )
        self._call: Callback | None = None
        #: the wrappers this route's chain was last checked with (see :meth:`check`)
        self._checked_with: tuple[Wrapper, ...] | None = None
        #: the wrappers whose code is in ``call`` (not those that returned it unchanged)
        self.wrapped_by: list[Wrapper] = []
        #: whether ``call`` runs a Bottle-style (sync) wrapper; known once ``call`` is built
        self.sync_wrapped = False
        #: the compiled request handler; see plughost.request.handler
        self.handler: Handler | None = None
        #: the plugin version serving this route
        self.owner: Inflight | None = None
        #: every plugin version the compiled handler runs code of; see Host.handler
        self.holders: tuple[Inflight, ...] = ()

    def __repr__(self) -> str:
        owner = f" of {self.plugin!r}" if self.plugin else ""
        return f"<Route {self.method} {self.rule}{owner}>"

    def all_plugins(self) -> Iterator[object]:
        """The wrappers that apply to this route, innermost first (Bottle's order)."""
        return (wrapper.plugin for wrapper in self._wrappers())

    def _wrappers(self, installed: Sequence[Wrapper] | None = None) -> Iterator[Wrapper]:
        skip = self.skip
        if True in skip:
            return
        if installed is None:
            installed = self.host.installed() if self.host is not None else ()
        seen: set[str] = set()
        for wrapper in reversed([*installed, *self.plugins]):
            name = wrapper.name
            if name and name in seen:
                continue
            if _skipped(wrapper, skip):
                continue
            if name:
                seen.add(name)
            yield wrapper

    def applies(self, wrapper: Wrapper) -> bool:
        return any(w is wrapper for w in self._wrappers())

    @property
    def call(self) -> Callback:
        """The callback with every applicable wrapper applied; built once, cached."""
        if self._call is None:
            self._call = self._build()
        return self._call

    def _build(self, installed: Sequence[Wrapper] | None = None) -> Callback:
        offload = self.offload
        if offload is not None and installed is None:
            forced = self.config.get("sync_to_thread") is True
            offload.configure(to_thread=forced or bool(self.host and self.host.sync_to_thread))
        link = endpoint_link(self.callback, self.signature.required, offload)
        wrapped_by: list[Wrapper] = []
        sync_wrapped = False
        for wrapper in self._wrappers(installed):
            wrapped = wrap(wrapper, link, self)
            if wrapped is None:
                continue
            wrapped_by.append(wrapper)
            sync_wrapped = sync_wrapped or wrapped.sync is not None
            link = wrapped
        if installed is None:
            self.wrapped_by = wrapped_by
            self.sync_wrapped = sync_wrapped
        return link.call

    @property
    def built(self) -> bool:
        """Whether ``call`` is built (False after a reset, until next use)."""
        return self._call is not None

    def check(self, installed: tuple[Wrapper, ...]) -> None:
        """Build the chain this route would have with ``installed`` wrappers, and drop it.

        A route already checked with the same wrappers is not built again.

        Raises:
            PluginError: a wrapper cannot apply to this route; names both.
        """
        if self._checked_with == installed:
            return
        self._build(installed)
        self._checked_with = installed

    def reset(self) -> None:
        """Drop the cached wrapper chain and handler; both are rebuilt on next use."""
        self._call = None
        self.handler = None


def _skipped(wrapper: Wrapper, skip: tuple[object, ...]) -> bool:
    plugin = wrapper.plugin
    for item in skip:
        if item is plugin or (isinstance(item, str) and item == wrapper.name):
            return True
        if isinstance(item, type) and isinstance(plugin, item):
            return True
    return False
