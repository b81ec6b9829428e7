"""Building one version of a plugin, staged aside from the live host.

:func:`build_version` imports the plugin's code into a fresh module (in a
worker thread), validates its params, collects its routes, endpoint classes
and hooks, and runs its ``setup``, all against a handle that is not yet live.
The host publishes the result in one step, or discards it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

from ..baseplugin import BasePlugin
from ..discovery import PluginSource
from ..errors import PluginError, PluginSetupError
from ..handle import HostServices, PluginHandle, await_maybe
from ..params import PARAMS_CLASS, validate_params
from ..request.hooks import HookSet, hook_functions
from ..request.routes import ROUTES_ATTRIBUTE, RouteSpec
from .importer import ImportedPlugin, blame_exception, import_plugin, module_objects
from .mount import mount_endpoint

if TYPE_CHECKING:
    from ..config import PluginConfig

__all__ = ["PluginVersion", "build_version"]


@dataclass(eq=False)
class PluginVersion:
    """One loaded version of a plugin: its module, its handle, what it owns."""

    name: str
    source: PluginSource
    imported: ImportedPlugin
    handle: PluginHandle
    number: int
    loaded_at: float = field(default_factory=time.time)
    #: requests currently running on this version
    inflight: int = 0
    #: set once a newer version replaced this one; its last request then sets ``drained``
    draining: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def module(self) -> ModuleType:
        return self.imported.module

    @property
    def kind(self) -> str:
        """endpoint, hooks, wrapper or mixed; routes of a hooks or wrapper plugin don't count."""
        kinds = [
            kind
            for kind, present in (("hooks", self.handle.hooks), ("wrapper", self.handle.wrappers))
            if present
        ]
        if not kinds:
            return "endpoint" if self.handle.routes else "empty"
        return kinds[0] if len(kinds) == 1 else "mixed"

    @property
    def shapes_every_route(self) -> bool:
        """True when this version contributes wrappers or hooks, which touch every route."""
        return bool(self.handle.wrappers or self.handle.hooks)


async def build_version(
    host: HostServices,
    plugin_config: PluginConfig,
    source: PluginSource,
    number: int,
    *,
    in_thread: bool = True,
) -> PluginVersion:
    """Import and set up one plugin, staged; nothing live changes.

    The import runs in a worker thread, so that a slow one does not hold up the
    requests being served; ``in_thread=False`` imports on the calling thread, for
    a host that serves nothing yet (a thread hop per plugin is most of what
    starting a thousand small plugins costs).

    Raises:
        PluginError: import, params, collection or setup failed; sys.modules
            is restored and anything the plugin set up is closed.
    """
    if in_thread:
        importing = asyncio.ensure_future(
            asyncio.to_thread(import_plugin, source, host.config.plugins_dir)
        )
        try:
            imported = await asyncio.shield(importing)
        except asyncio.CancelledError:
            # The thread cannot be stopped; undo its import when it finishes.
            importing.add_done_callback(_roll_back)
            raise
    else:
        imported = import_plugin(source, host.config.plugins_dir)
    handle = PluginHandle(host, source.name, None, plugin_config)
    try:
        module = imported.module
        handle.params = _params(module, plugin_config, host)
        endpoints = _collect(module, handle)
        for endpoint in endpoints:
            await mount_endpoint(endpoint, handle, plugin_config, host, source)
        if plugin_config.auth_type != "none" and not endpoints:
            handle.warn(
                f"auth_type = {plugin_config.auth_type!r} protects BasePlugin endpoints only, "
                "and this plugin has none; protect a route with "
                f"@plughost.route(..., auth={plugin_config.auth_type!r})"
            )
        setup = getattr(module, "setup", None)
        if callable(setup):
            try:
                await await_maybe(setup(handle))
            except PluginError:
                raise
            except (Exception, SystemExit) as error:
                path, line = blame_exception(source, error)
                raise PluginSetupError(
                    f"setup() raised {type(error).__name__}: {error}",
                    plugin=source.name,
                    path=path,
                    line=line,
                ) from error
        close = getattr(module, "close", None)
        if callable(close):
            handle.on_close(close, f"plugin {source.name!r}", last=True)
    except BaseException:
        imported.rollback()
        try:
            await handle.aclose()
        except Exception:  # the setup error is the one worth reporting
            pass
        raise
    version = PluginVersion(source.name, source, imported, handle, number)
    for route in handle.routes:
        route.owner = version
    return version


def _roll_back(importing: asyncio.Future[ImportedPlugin]) -> None:
    if not importing.cancelled() and importing.exception() is None:
        importing.result().rollback()


def _params(module: ModuleType, plugin_config: PluginConfig, host: HostServices) -> Any:
    declared = getattr(module, PARAMS_CLASS, None)
    if not isinstance(declared, type):
        return MappingProxyType(dict(plugin_config.params))
    text = None
    try:
        text = host.config.path.read_text(encoding="utf-8")
    except OSError:
        pass
    return validate_params(
        declared,
        plugin_config.params,
        plugin=plugin_config.name,
        config_path=host.config.path,
        config_text=text,
    )


def _collect(module: ModuleType, handle: PluginHandle) -> list[type[BasePlugin]]:
    """Register the module's routes and hooks; returns its BasePlugin subclasses to mount."""
    endpoints: list[type[BasePlugin]] = []
    for _, value in module_objects(module):
        specs: tuple[RouteSpec, ...] = getattr(value, ROUTES_ATTRIBUTE, ())
        for spec in specs:
            handle.register(spec, value)
        if (
            inspect.isclass(value)
            and issubclass(value, BasePlugin)
            and value is not BasePlugin
            and not inspect.isabstract(value)
        ):
            endpoints.append(value)
    functions = hook_functions(module)
    if functions:
        handle.hooks.append(HookSet(handle.name or "plughost", module, functions))
    handle.warn_near_misses(module)
    return endpoints
