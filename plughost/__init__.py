"""plughost: a web plugin host with instant, per-plugin hot reload.

The public API is what this module exports. The errors are imported eagerly; every other
name is imported on first use, so that ``plughost --help`` and ``plughost plugins list``
start without importing aiohttp. ``Host.load``/``LoadResult``/``PluginState`` and
``open_host`` are the embedding API; plugin authors meet the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import AccessDenied as AccessDenied
from .errors import BadRequest as BadRequest
from .errors import ConfigError as ConfigError
from .errors import HTTPError as HTTPError
from .errors import NotAWrapperError as NotAWrapperError
from .errors import NotFound as NotFound
from .errors import ParamsError as ParamsError
from .errors import PlughostError as PlughostError
from .errors import PluginError as PluginError
from .errors import PluginImportError as PluginImportError
from .errors import PluginNameError as PluginNameError
from .errors import PluginSetupError as PluginSetupError
from .errors import RouteConflictError as RouteConflictError
from .errors import Unauthorized as Unauthorized

if TYPE_CHECKING:  # the same names as _LAZY, for type checkers
    from .baseplugin import BasePlugin as BasePlugin
    from .config import AuthConfig as AuthConfig
    from .config import Config as Config
    from .config import CorsConfig as CorsConfig
    from .config import PluginConfig as PluginConfig
    from .config import ServerConfig as ServerConfig
    from .handle import PluginHandle as PluginHandle
    from .host import Host as Host
    from .host import LoadResult as LoadResult
    from .host import PluginState as PluginState
    from .request.context import HOOK_NAMES as HOOK_NAMES
    from .request.context import SINGLE_HOOKS as SINGLE_HOOKS
    from .request.context import Context as Context
    from .request.hooks import HookPlugin as HookPlugin
    from .request.responses import to_response as to_response
    from .request.routes import Route as Route
    from .request.routes import route as route
    from .server import open_host as open_host
    from .tasks import TaskGroup as TaskGroup
    from .tasks import TaskInfo as TaskInfo
    from .tasks import TaskState as TaskState
    from .typedefs import WrapperPlugin as WrapperPlugin

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    **dict.fromkeys(("BasePlugin",), "baseplugin"),
    **dict.fromkeys(
        ("AuthConfig", "Config", "CorsConfig", "PluginConfig", "ServerConfig"), "config"
    ),
    **dict.fromkeys(("PluginHandle",), "handle"),
    **dict.fromkeys(("Host", "LoadResult", "PluginState"), "host"),
    **dict.fromkeys(("HOOK_NAMES", "SINGLE_HOOKS", "Context"), "request.context"),
    **dict.fromkeys(("HookPlugin",), "request.hooks"),
    **dict.fromkeys(("to_response",), "request.responses"),
    **dict.fromkeys(("Route", "route"), "request.routes"),
    **dict.fromkeys(("open_host",), "server"),
    **dict.fromkeys(("TaskGroup", "TaskInfo", "TaskState"), "tasks"),
    **dict.fromkeys(("WrapperPlugin",), "typedefs"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'plughost' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    name
    for name, value in list(globals().items())
    if isinstance(value, type) and issubclass(value, Exception)
]
__all__ += _LAZY
