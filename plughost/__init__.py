"""plughost: a web plugin host with instant, per-plugin hot reload.

The runtime names (``Host``, ``route``, ``BasePlugin``, ...) are imported on
first use, so that ``plughost --help`` and ``plughost plugins list`` start
without importing aiohttp.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from .errors import AccessDenied as AccessDenied
from .errors import BadRequest as BadRequest
from .errors import ConfigError as ConfigError
from .errors import HTTPError as HTTPError
from .errors import NotFound as NotFound
from .errors import ParamsError as ParamsError
from .errors import PlughostError as PlughostError
from .errors import PluginError as PluginError
from .errors import PluginImportError as PluginImportError
from .errors import PluginNameError as PluginNameError
from .errors import PluginSetupError as PluginSetupError
from .errors import RouteConflictError as RouteConflictError
from .errors import Unauthorized as Unauthorized

if TYPE_CHECKING:
    from .baseplugin import BasePlugin as BasePlugin
    from .context import HOOK_NAMES as HOOK_NAMES
    from .context import SINGLE_HOOKS as SINGLE_HOOKS
    from .context import Context as Context
    from .handle import PluginHandle as PluginHandle
    from .host import Host as Host
    from .pipeline import HookPlugin as HookPlugin
    from .responses import to_response as to_response
    from .routing import Route as Route
    from .routing import route as route
    from .tasks import TaskInfo as TaskInfo
    from .tasks import TaskState as TaskState

__version__ = "0.1.0"

# A library logs; the application (``plughost run``) decides where it goes.
logging.getLogger("plughost").addHandler(logging.NullHandler())

_LAZY = {
    "BasePlugin": "baseplugin",
    "Context": "context",
    "HOOK_NAMES": "context",
    "SINGLE_HOOKS": "context",
    "HookPlugin": "pipeline",
    "Host": "host",
    "PluginHandle": "handle",
    "Route": "routing",
    "route": "routing",
    "to_response": "responses",
    "TaskInfo": "tasks",
    "TaskState": "tasks",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'plughost' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "HOOK_NAMES",
    "SINGLE_HOOKS",
    "AccessDenied",
    "BadRequest",
    "BasePlugin",
    "ConfigError",
    "Context",
    "HTTPError",
    "HookPlugin",
    "Host",
    "NotFound",
    "ParamsError",
    "PluginError",
    "PluginHandle",
    "PluginImportError",
    "PluginNameError",
    "PluginSetupError",
    "PlughostError",
    "Route",
    "RouteConflictError",
    "TaskInfo",
    "TaskState",
    "Unauthorized",
    "route",
    "to_response",
]
