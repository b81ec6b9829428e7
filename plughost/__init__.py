"""plughost: a web plugin host with instant, per-plugin hot reload."""

from .errors import AccessDenied as AccessDenied
from .errors import BadRequest as BadRequest
from .errors import ConfigError as ConfigError
from .errors import HTTPError as HTTPError
from .errors import NotFound as NotFound
from .errors import ParamsError as ParamsError
from .errors import PluginError as PluginError
from .errors import PluginImportError as PluginImportError
from .errors import PluginNameError as PluginNameError
from .errors import PluginSetupError as PluginSetupError
from .errors import PlughostError as PlughostError
from .errors import RouteConflictError as RouteConflictError
from .errors import Unauthorized as Unauthorized

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "BadRequest",
    "ConfigError",
    "HTTPError",
    "NotFound",
    "ParamsError",
    "PluginError",
    "PluginImportError",
    "PluginNameError",
    "PluginSetupError",
    "PlughostError",
    "RouteConflictError",
    "Unauthorized",
]
