"""Mounting one ``BasePlugin`` subclass, as plugincore's plugin manager does.

The class is constructed with keyword arguments (the plugin's params, then
``config``, ``route_path``, ``auth_type``, ``apikey``, ``log``, ...), its
``initialize(**kwargs)`` is awaited, its ``terminate_plugin()`` is registered
to run when the plugin closes, and it answers at ``/<route_path>`` and
``/<route_path>/{subpath}``.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ..baseplugin import BINDING, BasePlugin, EndpointBinding, plugin_logger
from ..errors import PluginError, PluginSetupError
from ..handle import HostServices, PluginHandle, await_maybe
from ..request.auth import expected_key
from ..request.client import Network, parse_networks
from .importer import blame_exception

if TYPE_CHECKING:
    from ..config import PluginConfig
    from ..discovery import PluginSource

__all__ = ["HOST_KWARGS", "mount_endpoint"]

#: the keyword arguments the host passes besides the plugin's params
HOST_KWARGS: Final = frozenset(
    {"config", "route_path", "auth_type", "apikey", "params", "tasks", "log", "task_callback"}
)
_ROUTE_PATH: Final = re.compile(r"[A-Za-z0-9._~\-]+(/[A-Za-z0-9._~\-]+)*")


@functools.lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


async def mount_endpoint(
    cls: type[BasePlugin],
    handle: PluginHandle,
    plugin_config: PluginConfig,
    host: HostServices,
    source: PluginSource,
) -> BasePlugin:
    """Construct, initialize and mount ``cls``; its ``terminate_plugin`` runs on close.

    Raises:
        PluginSetupError: a param collides with a host keyword, or the
            constructor or ``initialize`` raised, or the endpoint's path is not
            a URL path.
    """
    name = plugin_config.name
    route_path = (plugin_config.route_path or cls.route_path or cls.__name__.lower()).strip("/")
    auth_type = plugin_config.auth_type
    if auth_type == "none" and cls.auth_type:
        auth_type = cls.auth_type

    def keys() -> tuple[str | None, bool]:
        config = host.config
        own = config.plugin(name) or plugin_config
        return expected_key(config, auth_type, own.key), config.auth.allow_query_key

    def trusted_proxies() -> tuple[Network, ...]:
        return _networks(host.config.server.trusted_proxies)

    def task_callback(task: asyncio.Future[Any]) -> None:
        async def cancel() -> None:
            if not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=host.config.server.task_grace)

        handle.on_close(cancel, f"a task of {cls.__name__}")

    raw_params: Mapping[str, Any] = plugin_config.params
    for key in HOST_KWARGS.intersection(raw_params):
        raise PluginSetupError(
            f"params.{key}: {key!r} is a keyword the host passes to {cls.__name__}",
            plugin=name,
            hint=f"rename the param, or set it as [plugins.{name}] {key}"
            if key in ("route_path", "auth_type", "apikey")
            else "rename the param",
        )
    kwargs: dict[str, Any] = {
        **raw_params,
        "config": host.config,
        "route_path": route_path,
        "auth_type": auth_type,
        "apikey": plugin_config.key,
        "params": handle.params,
        "tasks": handle.tasks,
        "log": plugin_logger(name),
        "task_callback": task_callback,
    }

    def sync_to_thread() -> bool:
        return host.sync_to_thread

    binding = EndpointBinding(
        plugin=name, keys=keys, trusted_proxies=trusted_proxies, sync_to_thread=sync_to_thread
    )
    token = BINDING.set(binding)
    try:
        instance = cls(**kwargs)
    except PluginError:
        raise
    except (Exception, SystemExit) as error:
        raise _blamed(f"{cls.__name__}(**kwargs)", error, name, source) from error
    finally:
        BINDING.reset(token)
    handle.on_close(instance.terminate_plugin, f"terminate_plugin() of {cls.__name__}")
    try:
        await await_maybe(instance.initialize(**dict(kwargs)))
    except PluginError:
        raise
    except (Exception, SystemExit) as error:
        raise _blamed(f"{cls.__name__}.initialize()", error, name, source) from error
    path = instance._plugin_id
    if not isinstance(path, str) or not _ROUTE_PATH.fullmatch(path.strip("/")):
        raise PluginSetupError(
            f"{cls.__name__}: _plugin_id {path!r} is not a plain URL path",
            plugin=name,
            hint='use letters, digits and - _ . ~ /, e.g. "api/notes"',
        )
    path = path.strip("/")
    handle.add_route(f"/{path}", instance.handle_request, ("GET", "POST"))
    handle.add_route(f"/{path}/{{subpath:.*}}", instance.handle_subpath, ("GET", "POST"))
    return instance


def _blamed(what: str, error: BaseException, plugin: str, source: PluginSource) -> PluginSetupError:
    path, line = blame_exception(source, error)
    return PluginSetupError(
        f"{what} raised {type(error).__name__}: {error}", plugin=plugin, path=path, line=line
    )
