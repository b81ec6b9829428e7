"""PluginHandle: what a plugin's ``setup(host)`` receives, and what it owns.

Everything registered through a handle (routes, wrappers, hook objects) is
recorded on it, so the host can publish a plugin's contributions in one step
and remove exactly them when the plugin leaves.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from .config import AUTH_TYPES
from .errors import PluginError, PluginSetupError
from .request.hooks import HookSet, hook_functions, near_misses
from .request.routes import Route, RouteSpec, Wrapper

if TYPE_CHECKING:
    from .config import Config, PluginConfig
    from .tasks import TaskGroup, TaskStore

__all__ = ["HostServices", "PluginHandle", "await_maybe"]

logger: Final = logging.getLogger("plughost.host")
_F = TypeVar("_F", bound=Callable[..., Any])


async def await_maybe(value: object) -> Any:
    """Await ``value`` when a sync-or-async hook returned an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


class HostServices(Protocol):
    """What a :class:`PluginHandle` needs from its host (:class:`plughost.Host` provides it)."""

    @property
    def config(self) -> Config: ...

    @property
    def tasks(self) -> TaskStore: ...

    def installed(self) -> Sequence[Wrapper]: ...

    @property
    def sync_to_thread(self) -> bool: ...

    def routes_using(self, wrappers: Iterable[Wrapper]) -> list[Route]: ...

    def is_live(self, handle: PluginHandle) -> bool: ...

    def wrappers_changed(
        self,
        handle: PluginHandle,
        *,
        added: Iterable[Wrapper] = (),
        affected: Iterable[Route] = (),
    ) -> None: ...

    def hooks_changed(self, handle: PluginHandle) -> None: ...


class PluginHandle:
    """The host, as seen by one plugin.

    Attributes:
        name: the plugin's name (None for the host's own registrations).
        params: the plugin's ``[plugins.NAME.params]``, validated against its
            ``Params`` declaration when it has one.
        config: the whole host :class:`~plughost.config.Config`.
    """

    def __init__(
        self,
        host: HostServices,
        name: str | None,
        params: Any = None,
        plugin_config: PluginConfig | None = None,
    ) -> None:
        self.host: Final = host
        self.name: Final = name
        self.params: Any = params if params is not None else {}
        self.plugin_config: Final = plugin_config
        self.routes: Final[list[Route]] = []
        self.wrappers: Final[list[Wrapper]] = []
        self.hooks: Final[list[HookSet]] = []
        #: what was odd but not wrong about this plugin (``plughost check`` shows it)
        self.warnings: Final[list[str]] = []
        self._closers: list[tuple[str, Callable[[], object]]] = []
        self.closed = False

    def __repr__(self) -> str:
        return f"<PluginHandle {self.name!r}>"

    @property
    def config(self) -> Config:
        return self.host.config

    @property
    def tasks(self) -> TaskGroup:
        """Background tasks owned by this plugin; results outlive a reload."""
        return self.host.tasks.group(self.name or "plughost", owner=self)

    @property
    def plugins(self) -> list[object]:
        """Every wrapper plugin installed in the host, this plugin's staged ones included."""
        others = [w.plugin for w in self.host.installed() if w.owner != self.name]
        return others + [w.plugin for w in self.wrappers]

    def route(
        self,
        rule: str,
        method: str | Iterable[str] = "GET",
        *,
        name: str | None = None,
        skip: object = None,
        apply: object = None,
        **config: Any,
    ) -> Callable[[_F], _F]:
        """Register the decorated function as an endpoint owned by this plugin.

        Takes the arguments of ``@plughost.route``; see :meth:`RouteSpec.create`.
        """
        spec = RouteSpec.create(rule, method, name=name, skip=skip, apply=apply, **config)

        def decorator(callback: _F) -> _F:
            self.register(spec, callback)
            return callback

        return decorator

    def add_route(
        self,
        rule: str,
        callback: Callable[..., Any],
        method: str | Iterable[str] = "GET",
        *,
        name: str | None = None,
        skip: object = None,
        apply: object = None,
        **config: Any,
    ) -> list[Route]:
        """Register ``callback`` at ``rule`` for each method; returns the new routes."""
        spec = RouteSpec.create(rule, method, name=name, skip=skip, apply=apply, **config)
        return self.register(spec, callback)

    def register(self, spec: RouteSpec, callback: Callable[..., Any]) -> list[Route]:
        """Register ``callback`` as declared by ``spec``: where every route registration ends."""
        auth = spec.config.get("auth")
        if auth is not None and auth not in AUTH_TYPES:
            raise PluginError(
                f"route {spec.rule!r}: auth={auth!r}; expected one of "
                f"{', '.join(repr(t) for t in AUTH_TYPES)}",
                plugin=self.name,
            )
        to_thread = spec.config.get("sync_to_thread", False)
        if not isinstance(to_thread, bool):
            raise PluginError(
                f"route {spec.rule!r}: sync_to_thread={to_thread!r}; expected True or False",
                plugin=self.name,
            )
        created = [
            Route(
                spec.rule,
                method,
                callback,
                name=spec.name,
                plugin=self.name,
                skip=spec.skip,
                plugins=spec.apply,
                config=dict(spec.config),
                host=self.host,
            )
            for method in spec.methods
        ]
        self.routes.extend(created)
        return created

    def install(self, plugin: Any) -> Any:
        """Install a Bottle-style wrapper plugin for every route in the host.

        Its ``setup(handle)`` runs now and may raise :class:`PluginError` to
        refuse; its ``close()`` runs exactly once, when it is uninstalled or
        this plugin leaves.
        """
        wrapper = Wrapper(plugin, self.name)
        setup = getattr(plugin, "setup", None)
        if callable(setup):
            try:
                result = setup(self)
            except PluginError:
                raise
            except Exception as error:
                raise PluginSetupError(
                    f"setup() of wrapper {wrapper.label!r} raised {error!r}", plugin=self.name
                ) from error
            if inspect.isawaitable(result):
                raise PluginSetupError(
                    f"setup() of wrapper {wrapper.label!r} is async; "
                    "a wrapper's setup must be sync",
                    plugin=self.name,
                )
        self.wrappers.append(wrapper)
        close = getattr(plugin, "close", None)
        if callable(close):
            self._closers.append((f"wrapper {wrapper.label!r}", close))
        self.host.wrappers_changed(self, added=[wrapper])
        return plugin

    def uninstall(self, plugin: object) -> list[object]:
        """Remove this plugin's wrappers matching ``plugin`` (instance, name, type or True)."""
        removed = [w for w in self.wrappers if _matches(w, plugin)]
        affected = self.host.routes_using(removed) if self.host.is_live(self) else []
        for wrapper in removed:
            self.wrappers.remove(wrapper)
            for index, (label, close) in enumerate(self._closers):
                if getattr(close, "__self__", None) is wrapper.plugin:
                    del self._closers[index]
                    _close_now(label, close)
                    break
        if removed:
            self.host.wrappers_changed(self, affected=affected)
        return [w.plugin for w in removed]

    def add_hooks(self, source: object) -> object:
        """Register hook functions: an object's methods, a module's, or a mapping's values.

        Any subset of the hooks will do. An object with none is accepted with a
        warning (it does nothing), and so is a public function whose name is a
        near miss of a hook's, with a warning naming the hook it resembles.
        """
        functions = hook_functions(source)
        label = _describe(source)
        if not functions:
            self.warn(
                f"{label} has none of the hook functions; it does nothing "
                "(see plughost.HOOK_NAMES for the hook names)"
            )
        self.warn_near_misses(source, f"{label}: ")
        self.hooks.append(HookSet(self.name or "plughost", source, functions))
        self.host.hooks_changed(self)
        return source

    def warn_near_misses(self, source: object, prefix: str = "") -> None:
        """Warn about each function of ``source`` that looks like a misspelt hook."""
        for name, nearest in near_misses(source):
            self.warn(f"{prefix}{name!r} is not a hook; did you mean {nearest!r}?")

    def warn(self, message: str) -> None:
        """Log a warning about this plugin and keep it for ``plughost check``."""
        self.warnings.append(message)
        logger.warning("plugin %r: %s", self.name or "plughost", message)

    def on_close(
        self, callback: Callable[[], object | Awaitable[object]], label: str, *, last: bool = False
    ) -> None:
        """Run ``callback`` (sync or async) when this plugin is closed.

        Callbacks run last registered first; ``last=True`` runs this one after all others
        (the plugin module's own ``close()``).
        """
        if last:
            self._closers.insert(0, (label, callback))
        else:
            self._closers.append((label, callback))

    async def aclose(self) -> None:
        """Call every close callback once, last registered first; errors are gathered."""
        if self.closed:
            return
        self.closed = True
        errors: list[Exception] = []
        while self._closers:
            label, close = self._closers.pop()
            try:
                await await_maybe(close())
            except Exception as error:
                error.add_note(f"raised by close() of {label}")
                errors.append(error)
        if errors:
            raise ExceptionGroup(f"closing plugin {self.name!r}", errors)


#: async close() calls started by a sync uninstall, kept referenced until done
_closing: set[asyncio.Task[Any]] = set()


def _close_now(label: str, close: Callable[[], object]) -> None:
    """Call a wrapper's close(); an async one runs as a task (uninstall is sync)."""
    try:
        result = close()
    except Exception:
        logger.exception("close() of %s raised", label)
        return
    if not inspect.isawaitable(result):
        return

    async def finish() -> None:
        try:
            await result
        except Exception:
            logger.exception("close() of %s raised", label)

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(finish())
        return
    task = loop.create_task(finish())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _describe(source: object) -> str:
    """How a warning names a hook source."""
    if isinstance(source, ModuleType):
        return f"module {source.__name__!r}"
    if isinstance(source, Mapping):
        return "the dict plugin"
    return f"hook object {type(source).__name__!r}"


def _matches(wrapper: Wrapper, target: object) -> bool:
    if target is True or target is wrapper.plugin:
        return True
    if isinstance(target, str):
        return wrapper.name == target
    if isinstance(target, type):
        return isinstance(wrapper.plugin, target)
    return False
