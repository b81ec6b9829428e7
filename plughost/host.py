"""The Host: which plugins are live, what they contribute, and the current route table.

The host follows Bottle's API for wrapper plugins (``install``, ``uninstall``,
``reset``, ``close``, ``plugins``, ``routes``) and adds plugin lifecycle:
``load``/``unload`` a plugin from disk as one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar, final

from .config import Config, CorsConfig
from .errors import HTTPError, RouteConflictError
from .handle import PluginHandle
from .reload.outcome import LoadResult, PluginState, PluginStatus
from .reload.placement import ImportPlacement
from .reload.retire import retire
from .reload.stage import PluginVersion
from .reload.transaction import LoadTransaction
from .request.auth import authorize, expected_key
from .request.context import Context
from .request.cors import Cors
from .request.defaults import DEFAULT_HOOKS
from .request.handler import compile_handler
from .request.hooks import HookFunction, HookSet
from .request.routes import Route, RouteSpec, Wrapper
from .request.table import RouteTable
from .sources import Sources
from .tasks import SyncRecords, TaskStore, open_records
from .typedefs import Handler, Inflight

__all__ = ["Host", "LoadResult", "PluginState", "PluginStatus"]

logger: Final = logging.getLogger("plughost.host")
# A library logs; the application (``plughost run``) decides where it goes. Set here, with
# the runtime, so that the CLI's quick commands need not import logging.
logging.getLogger("plughost").addHandler(logging.NullHandler())
_F = TypeVar("_F", bound=Callable[..., Any])


@final
class Host:
    """Plugins, their routes, wrappers and hooks, and the live route table."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config if config is not None else Config(path=Path.cwd() / "plughost.toml")
        self.tasks: Final = TaskStore(open_records(self.config))
        self._own: Final = PluginHandle(self, None)
        #: live plugin versions by name
        self._versions: dict[str, PluginVersion] = {}
        self._status: dict[str, PluginStatus] = {}
        #: the plugins whose status is ERROR
        self._failed: set[str] = set()
        self._sources: Sources | None = None
        self._installed: tuple[Wrapper, ...] = ()
        self._hook_sets: tuple[HookSet, ...] = (DEFAULT_HOOKS,)
        self._extra_hooks: tuple[HookSet, ...] = ()
        #: the CORS policy in force, or None when [cors] is off
        self.cors: Cors | None = None
        self.table = RouteTable()
        #: what :meth:`check_publish` last checked, until the next publish
        self._checked: _Plan | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._retiring: set[asyncio.Task[None]] = set()
        #: called with each LoadResult after a load or reload
        self.listeners: list[Callable[[LoadResult], object]] = []
        #: called with a plugin's new status whenever it changes
        self.status_listeners: list[Callable[[PluginStatus], object]] = []
        #: awaited by :meth:`shutdown`, before the server stops: long-lived responses end here
        self.on_shutdown: list[Callable[[], Awaitable[object]]] = []

    # -- Bottle's API -------------------------------------------------------

    @property
    def plugins(self) -> list[object]:
        """Every installed wrapper plugin, in install order."""
        return [wrapper.plugin for wrapper in self._installed]

    @property
    def routes(self) -> tuple[Route, ...]:
        return self.table.routes

    def installed(self) -> Sequence[Wrapper]:
        return self._installed

    def install(self, plugin: Any) -> Any:
        """Install a wrapper plugin for every route (owned by the host itself)."""
        return self._own.install(plugin)

    def uninstall(self, plugin: object) -> list[object]:
        """Remove wrappers matching an instance, a name, a type, or ``True`` for all."""
        removed: list[object] = []
        for handle in self._live_handles():
            removed.extend(handle.uninstall(plugin))
        return removed

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
        """Register a host-level endpoint; takes the arguments of ``@plughost.route``."""
        spec = RouteSpec.create(rule, method, name=name, skip=skip, apply=apply, **config)

        def register(callback: _F) -> _F:
            before = len(self._own.routes)
            self._own.register(spec, callback)
            try:
                self.publish()
            except RouteConflictError:
                del self._own.routes[before:]
                raise
            return callback

        return register

    def add_hooks(self, source: object) -> object:
        """Register a hook object at host level (after every plugin's hooks)."""
        return self._own.add_hooks(source)

    def reset(self, route: Route | None = None) -> None:
        """Drop cached wrapper chains and handlers: of one route, or of all."""
        for item in (route,) if route is not None else self.table.routes:
            item.reset()

    async def shutdown(self) -> None:
        """Run the ``on_shutdown`` callbacks, as aiohttp's ``Application.on_shutdown``.

        Call it before stopping the server, so event streams end at once
        instead of holding the server's shutdown until its timeout.
        """
        for callback in list(self.on_shutdown):
            await callback()

    async def close(self, *, task_grace: float | None = None) -> None:
        """Close every plugin (each ``close()`` runs once) and cancel leftover tasks.

        Running background tasks get ``task_grace`` seconds (default: ``[server]
        task_grace``) before they are cancelled.
        """
        if self._closed:
            return
        self._closed = True
        if self._retiring:
            await asyncio.wait(self._retiring)
        grace = self.config.server.task_grace if task_grace is None else task_grace
        await self.tasks.shutdown(grace)
        errors: list[Exception] = []
        for name in reversed(list(self._versions)):
            version = self._versions.pop(name)
            try:
                await version.handle.aclose()
            except Exception as error:
                errors.append(error)
        try:
            await self._own.aclose()
        except Exception as error:
            errors.append(error)
        self.publish()
        try:
            await self.tasks.aclose()
        except Exception as error:
            errors.append(error)
        for failure in errors:
            logger.error("error while closing: %s", failure, exc_info=failure)

    # -- request path -------------------------------------------------------

    def handler(self, route: Route) -> Handler:
        """``route``'s compiled handler, built on first use and cached on the route.

        Also records on ``route.holders`` every plugin version whose code the
        handler runs (its own, and those of the wrappers and hooks around it),
        so a replaced version is closed only when no request is inside it.
        """
        handler = route.handler
        if handler is None:
            hook_sets = self._hook_sets
            if route.config.get("auth"):
                hook_sets = (hook_sets[0], self._route_auth(route), *hook_sets[1:])
            _chain = route.call  # built now, so route.wrapped_by is known
            owners = {w.owner for w in route.wrapped_by}
            owners.update(hooks.owner for hooks in hook_sets)
            owners.discard(route.plugin)
            holders: list[Inflight] = [v for n, v in self._versions.items() if n in owners]
            if route.owner is not None:
                holders.append(route.owner)
            route.holders = tuple(holders)
            handler = route.handler = compile_handler(
                route, hook_sets, debug=self.config.server.debug
            )
        return handler

    def _route_auth(self, route: Route) -> HookSet:
        """The API-key check for a route declared with ``auth="global"`` or ``"plugin"``.

        It runs first among the ``process_input`` hooks, so that a key sent in
        the body counts, and is consumed before any plugin sees the input.
        """
        mode = route.config["auth"]
        plugin_config = self.config.plugin(route.plugin) if route.plugin else None
        expected = expected_key(self.config, mode, plugin_config.key if plugin_config else None)
        allow_query = self.config.auth.allow_query_key

        def process_input(context: Context) -> None:
            authorize(
                context.request,
                context.input,
                auth_type=mode,
                expected=expected,
                allow_query=allow_query,
            )

        functions = {"process_input": HookFunction(process_input, False)}
        return HookSet("plughost.auth", None, functions, always=True)

    @property
    def sync_to_thread(self) -> bool:
        """Whether every sync endpoint runs in a worker thread: ``[server] sync_to_thread``,
        or a task store that a sync handler can only wait for from a thread (Redis)."""
        return self.config.server.sync_to_thread or not isinstance(self.tasks.records, SyncRecords)

    @property
    def hook_sets(self) -> tuple[HookSet, ...]:
        return self._hook_sets

    def set_cors(self, config: CorsConfig) -> None:
        """Apply a ``[cors]`` table: its response hook, and the preflight answers."""
        self.cors = Cors(config) if config.enabled else None
        self._extra_hooks = (self.cors.hooks(),) if self.cors is not None else ()
        self.publish(reset_all=True)

    # -- plugin lifecycle ---------------------------------------------------

    @property
    def sources(self) -> Sources:
        """Where plugins come from: the plugins folder, and the packaged plugins
        installed when the host started or last called :meth:`rescan`."""
        if self._sources is None:
            self._sources = Sources.scan(self.config.plugins_dir)
        return self._sources

    def rescan(self) -> None:
        """Read the installed packages again, to see a plugin installed since."""
        import importlib

        importlib.invalidate_caches()
        self._sources = Sources.scan(self.config.plugins_dir)

    @property
    def versions(self) -> dict[str, PluginVersion]:
        return dict(self._versions)

    def status(self) -> dict[str, PluginStatus]:
        """Every configured plugin's status, in load order."""
        result: dict[str, PluginStatus] = {}
        for plugin in self.config.plugins:
            result[plugin.name] = self._status.get(
                plugin.name,
                PluginStatus(
                    plugin.name, PluginState.LOADED if plugin.enabled else PluginState.DISABLED
                ),
            )
        return result

    async def start(self) -> list[LoadResult]:
        """Load every enabled plugin, in config order; a failure does not stop the others.

        They are staged one after another and published together, once: a route
        table built per plugin would make starting n plugins cost n² route
        registrations. Nothing is served yet, so they import on the event loop. Each
        plugin's wrappers count as installed for the setups after it, as when each
        plugin was published before the next loaded.
        """
        self.tasks.loop = asyncio.get_running_loop()
        for plugin in self.config.plugins:
            if not plugin.enabled:
                self.set_status(PluginStatus(plugin.name, PluginState.DISABLED))
        installed = self._installed
        committed = False
        try:
            async with self.transaction() as transaction:
                for plugin in self.config.enabled:
                    await transaction.stage(plugin.name, in_thread=False)
                    version = transaction.version(plugin.name)
                    if version is not None and version.handle.wrappers:
                        self._installed = (*self._installed, *version.handle.wrappers)
                await transaction.prepare()
                results = transaction.commit()  # publishes, installed wrappers included
                committed = True
                return results
        finally:
            if not committed:
                self._installed = installed

    @asynccontextmanager
    async def transaction(
        self, config: Config | None = None, *, quiet: bool = False
    ) -> AsyncIterator[LoadTransaction]:
        """A :class:`~plughost.reload.transaction.LoadTransaction` holding the host's lock.

        Left without a commit or an abort (an exception, a cancellation), it aborts.
        """
        async with self._lock:
            transaction = LoadTransaction(self, config, quiet=quiet)
            try:
                yield transaction
            finally:
                if not transaction.finished:
                    await transaction.abort("interrupted")

    async def load(self, name: str, *, imports: ImportPlacement | None = None) -> LoadResult:
        """Load, or reload, plugin ``name`` as one transaction.

        On any failure the previous version (if any) keeps serving and the
        error is recorded in the plugin's status. The import runs in a worker
        thread, or where ``imports`` decides (see :mod:`plughost.reload.placement`).
        """
        async with self.transaction() as transaction:
            await transaction.stage(name, imports=imports)
            await transaction.prepare()
            return transaction.commit()[0]

    async def unload(self, name: str, state: PluginState = PluginState.DISABLED) -> None:
        """Take plugin ``name`` out of service and close it."""
        async with self.transaction() as transaction:
            transaction.stage_unload(name, state)
            transaction.commit()

    # -- what a transaction uses ----------------------------------------------

    def status_of(self, name: str) -> PluginStatus | None:
        """The recorded status of plugin ``name``; None before it was loaded or disabled."""
        return self._status.get(name)

    def set_status(self, status: PluginStatus) -> None:
        """Record a plugin's new status and tell the status listeners."""
        self._status[status.name] = status
        if status.state is PluginState.ERROR:
            self._failed.add(status.name)
        else:
            self._failed.discard(status.name)
        for listener in list(self.status_listeners):
            listener(status)

    def report(self, result: LoadResult) -> LoadResult:
        """Tell the listeners about a load's result."""
        for listener in list(self.listeners):
            listener(result)
        return result

    def apply_config(self, config: Config) -> None:
        """Put an edited config in force: its CORS policy, keys and debug flag."""
        old, self.config = self.config, config
        if config.cors != old.cors:
            self.set_cors(config.cors)
        elif config.auth != old.auth or config.server.debug != old.server.debug:
            self.reset()

    def republish(self) -> None:
        """Publish again after the config's plugin order changed."""
        self.publish(reset_all=True)

    def retire_later(self, version: PluginVersion) -> None:
        task = asyncio.get_running_loop().create_task(self._retire(version))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, version: PluginVersion) -> None:
        await retire(version, self.tasks, self.config.server.drain_timeout)
        if version.name not in self._versions:
            version.imported.forget()

    # -- publishing ---------------------------------------------------------

    def _live_handles(self) -> list[PluginHandle]:
        return [self._own, *(v.handle for v in self._ordered(self._versions))]

    def _ordered(self, versions: dict[str, PluginVersion]) -> list[PluginVersion]:
        """``versions`` in config order; any the config no longer names, last."""
        ordered = [versions[p.name] for p in self.config.plugins if p.name in versions]
        if len(ordered) < len(versions):
            named = {p.name for p in self.config.plugins}
            ordered.extend(v for name, v in versions.items() if name not in named)
        return ordered

    def publish(
        self, versions: dict[str, PluginVersion] | None = None, *, reset_all: bool = False
    ) -> None:
        """Swap in a new route table (and wrapper and hook lists) in one step.

        Raises:
            RouteConflictError: nothing is changed.
        """
        versions = self._versions if versions is None else versions
        handles, table = self._plan(versions)
        self._checked = None
        self._versions = versions
        self._installed = tuple(w for handle in handles for w in handle.wrappers)
        self._hook_sets = (
            DEFAULT_HOOKS,
            *self._extra_hooks,
            *(hooks for handle in handles[1:] for hooks in handle.hooks),
            *self._own.hooks,
        )
        self.table = table
        if reset_all:
            self.reset()

    def check_publish(self, versions: dict[str, PluginVersion]) -> None:
        """Raise what :meth:`publish` would raise for ``versions``; change nothing.

        Every route whose wrapper chain would be built anew (a new route, or
        every route when the wrappers change) is built aside and dropped, so
        a wrapper that cannot apply to a route fails the change that brings
        it, not the first request.

        Raises:
            RouteConflictError: two of the routes claim one method and rule.
            PluginError: a wrapper cannot apply to a route; names both.
        """
        self._checked = None
        handles, table = self._plan(versions)
        installed = tuple(w for handle in handles for w in handle.wrappers)
        same_wrappers = installed == self._installed
        for route in table.routes:
            if not (same_wrappers and route.built):
                route.check(installed)
        self._checked = _Plan(dict(versions), frozenset(self._failed), self.config, handles, table)

    def _plan(self, versions: dict[str, PluginVersion]) -> tuple[list[PluginHandle], RouteTable]:
        checked = self._checked
        if (
            checked is not None
            and checked.config is self.config
            and checked.failed == self._failed
            and checked.versions == versions  # PluginVersion compares by identity
        ):
            return checked.handles, checked.table  # publishing what was just checked
        ordered = self._ordered(versions)
        handles = [self._own] + [v.handle for v in ordered]
        routes = [route for handle in handles for route in handle.routes]
        placeholders = self._placeholders(versions)
        if placeholders:
            claimed = {(route.method, route.rule) for route in routes}
            routes.extend(r for r in placeholders if (r.method, r.rule) not in claimed)
        # The table just checked shares most rules with this one: reuse its resources.
        return handles, RouteTable(routes, checked.table if checked else self.table)

    def _placeholders(self, versions: dict[str, PluginVersion]) -> list[Route]:
        """503 routes for enabled plugins that failed with no version to serve."""
        routes: list[Route] = []
        if not self._failed:
            return routes
        for name, status in self._status.items():
            if status.state is not PluginState.ERROR or name in versions:
                continue
            plugin_config = self.config.plugin(name)
            if plugin_config is None or not plugin_config.enabled:
                continue
            path = "/" + (plugin_config.route_path or name).strip("/")
            for method in ("GET", "POST"):
                routes.append(Route(path, method, _unavailable(name), plugin=name))
        return routes

    def is_live(self, handle: PluginHandle) -> bool:
        """True when ``handle`` belongs to the host or to a plugin's serving version."""
        if handle is self._own:
            return True
        version = self._versions.get(handle.name or "")
        return version is not None and version.handle is handle

    def wrappers_changed(
        self, handle: PluginHandle, *, added: Iterable[Wrapper] = (), affected: Iterable[Route] = ()
    ) -> None:
        """A live handle installed or removed wrappers: reset the routes they touch."""
        if self.is_live(handle):
            self._installed = tuple(w for h in self._live_handles() for w in h.wrappers)
            for route in [*affected, *self.routes_using(added)]:
                route.reset()

    def routes_using(self, wrappers: Iterable[Wrapper]) -> list[Route]:
        """The served routes that ``wrappers`` apply to."""
        wanted = list(wrappers)
        return [r for r in self.table.routes if any(r.applies(w) for w in wanted)]

    def hooks_changed(self, handle: PluginHandle) -> None:
        """A live handle added hooks: publish, so every route is compiled again."""
        if self.is_live(handle):
            self.publish(reset_all=True)


class _Plan(NamedTuple):
    """A route table checked for a set of versions, and what it was planned from."""

    versions: dict[str, PluginVersion]
    failed: frozenset[str]
    config: Config
    handles: list[PluginHandle]
    table: RouteTable


def _unavailable(name: str) -> Callable[..., Any]:
    async def unavailable() -> None:
        raise HTTPError(503, f"plugin {name!r} failed to load; the server log says why")

    return unavailable
