"""Endpoint plugins in the plugincore style: ``BasePlugin.request_handler(**args)``.

A plugin written for plugincore (pluginserver 0.10.5) runs here with its
import line changed: the host constructs it with keyword arguments, awaits its
``initialize(**kwargs)``, calls its ``terminate_plugin()`` when it leaves, and
answers a ``(status, value)`` tuple with that status.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self

from aiohttp import web

from .errors import BadRequest
from .request.auth import KEY_ARGUMENT, authorize
from .request.client import Network, client_ip
from .request.offload import SyncCall
from .request.responses import UnsendableOutputError, to_response

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

    from .config import AuthType

__all__ = ["BINDING", "BasePlugin", "EndpointBinding", "PluginLogger", "plugin_logger"]

#: what the host adds to a BasePlugin's args; a request may not send them itself
SUPPLIED_ARGS: Final = ("request", "request_headers", "client_ip", "log", "subpath")
_READ_INPUT_SUPPLIES: Final = frozenset({"request", "request_headers"})
_NO_BODY: Final[Mapping[str, Any]] = MappingProxyType({})
_FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class PluginLogger(logging.Logger):
    """A standard :class:`logging.Logger` that can also be called, as plugincore's is.

    ``self.log("loaded")`` logs at INFO; ``self.log.warn(...)`` is ``warning``.
    """

    def __call__(self, *parts: object) -> None:
        if self.isEnabledFor(logging.INFO):
            self._log(logging.INFO, " ".join(str(part) for part in parts), (), stacklevel=2)

    def warn(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 2)
        self.warning(msg, *args, **kwargs)


def plugin_logger(name: str) -> PluginLogger:
    """The logger ``plughost.plugins.NAME``, callable like plugincore's."""
    logger = logging.getLogger(f"plughost.plugins.{name}")
    # Taken from the logging registry (so levels and handlers configured by name
    # reach it) and given PluginLogger's two methods; it holds no other state.
    logger.__class__ = PluginLogger
    assert isinstance(logger, PluginLogger)
    return logger


@dataclass(frozen=True, slots=True)
class EndpointBinding:
    """What the host lends an endpoint instance: live settings, read per request."""

    #: the plugin's name
    plugin: str
    #: (expected key, allow_query_key), read from the live config so key edits apply at once
    keys: Callable[[], tuple[str | None, bool]]
    #: the live ``[server] trusted_proxies``
    trusted_proxies: Callable[[], tuple[Network, ...]]
    #: the live ``[server] sync_to_thread``
    sync_to_thread: Callable[[], bool] = lambda: False


#: set by the host while it constructs an endpoint; read by ``BasePlugin.__new__``
BINDING: Final[contextvars.ContextVar[EndpointBinding | None]] = contextvars.ContextVar(
    "plughost_endpoint_binding", default=None
)


class BasePlugin:
    """Subclass and define ``request_handler(self, **args)``; it answers GET and POST.

    The host instantiates each subclass found in an enabled plugin, with
    keyword arguments (plugincore's ``__init__(self, **kwargs)``), and mounts
    it at ``/<route_path>`` and ``/<route_path>/<subpath>``. ``route_path``
    comes from ``[plugins.NAME] route_path``, else this class attribute, else
    the class name in lower case.

    Example::

        class Example(BasePlugin):
            def request_handler(self, **args):
                return {"example": "Hi from Example.py"}

    Attributes:
        config: the host's :class:`~plughost.config.Config`.
        route_path: where this endpoint is mounted, without the leading slash.
        auth_type: ``"global"``, ``"plugin"`` or ``"none"``.
        params: the plugin's params (a ``Params`` instance when declared).
        tasks: background tasks owned by the plugin.
        log: a :class:`PluginLogger` named ``plughost.plugins.NAME``.
        args: every keyword argument the instance was constructed with.
    """

    route_path: ClassVar[str | None] = None
    auth_type: ClassVar[AuthType | None] = None
    #: run a sync ``request_handler`` in worker threads only, rather than on the event
    #: loop once it proved quick (see docs/endpoints.md, "Sync handlers")
    sync_to_thread: ClassVar[bool] = False
    _binding: EndpointBinding | None
    _offload: SyncCall

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        instance = super().__new__(cls)
        # Bound here, not in __init__, so it holds when a subclass skips super().__init__.
        binding = instance._binding = BINDING.get()
        owner = f" of plugin {binding.plugin!r}" if binding is not None else ""
        instance._offload = SyncCall(f"{cls.__name__}.request_handler{owner}")
        return instance

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        route_path = kwargs.get("route_path") or cls.route_path or cls.__name__.lower()
        self.config = kwargs.get("config")
        self.route_path = route_path  # type: ignore[misc]
        self.auth_type = kwargs.get("auth_type") or cls.auth_type or "none"  # type: ignore[misc]
        self.params = kwargs.get("params", MappingProxyType({}))
        self.tasks = kwargs.get("tasks")
        self._apikey: str | None = kwargs.get("apikey")
        #: plugincore's name for the endpoint; set it in ``__init__`` to mount elsewhere
        self._plugin_id: str = route_path
        log = kwargs.get("log")
        self.log: PluginLogger = log if isinstance(log, PluginLogger) else plugin_logger(route_path)
        kwargs["log"] = self.log
        self.args: dict[str, Any] = dict(kwargs)

    def _get_plugin_id(self) -> str:
        return self._plugin_id

    async def initialize(self, **kwargs: Any) -> None:
        """Called (awaited) once after construction, with the same keyword arguments."""

    def terminate_plugin(self) -> None:
        """Called once when the plugin is disabled, replaced by a reload, or the server stops."""

    async def handle_request(self, request: BaseRequest, **args: Any) -> Any:
        """Answer ``/<route_path>``: check the API key, then call :meth:`request_handler`."""
        return await self._serve(request, args, None)

    async def handle_subpath(self, request: BaseRequest, subpath: str, **args: Any) -> Any:
        """Answer ``/<route_path>/<subpath>``, with ``args["subpath"]`` set."""
        return await self._serve(request, args, subpath)

    async def _serve(self, request: BaseRequest, args: dict[str, Any], subpath: str | None) -> Any:
        body = await _json_object_body(request) if request.method == "POST" else _NO_BODY
        # read_input already refused request and request_headers in the query and the body it read
        for key in SUPPLIED_ARGS:
            if key in body or (key in args and key not in _READ_INPUT_SUPPLIES):
                raise BadRequest(f"{key!r} is supplied by the host and cannot be sent as input")
        args.update(body)
        binding = self._binding
        auth_type = self.auth_type or "none"
        if auth_type == "none":
            args.pop(KEY_ARGUMENT, None)  # consumed, as authorize() does
            trusted = binding.trusted_proxies() if binding is not None else ()
        else:
            if binding is not None:
                expected, allow_query = binding.keys()
                trusted = binding.trusted_proxies()
            else:
                auth = getattr(self.config, "auth", None)
                allow_query = bool(getattr(auth, "allow_query_key", False))
                expected, trusted = self._apikey, ()
            authorize(
                request, args, auth_type=auth_type, expected=expected, allow_query=allow_query
            )
        args["request"] = request
        args["request_headers"] = request.headers
        args["client_ip"] = client_ip(request, trusted)
        args["log"] = self.log
        args["subpath"] = subpath
        handler = self.request_handler
        if self._offload.is_async(handler):
            result = await handler(**args)
        else:
            offload = self._offload
            forced = self.sync_to_thread or (binding is not None and binding.sync_to_thread())
            if forced != offload.to_thread:
                offload.configure(to_thread=forced)
            if offload.inline:
                result = offload.call_inline(handler, **args)
            else:
                result = await offload.run(handler, **args)
        return self._unpack(result, binding)

    def _unpack(self, result: Any, binding: EndpointBinding | None) -> Any:
        """plugincore's ``(status, value)``: the value, answered with that status."""
        if type(result) is not tuple or len(result) != 2:
            return result
        status, value = result
        if not isinstance(status, int) or isinstance(status, bool):
            return result
        if isinstance(value, web.StreamResponse):
            return value
        owner = f"plugin {binding.plugin!r}" if binding else type(self).__name__
        if not 100 <= status <= 599:
            raise UnsendableOutputError(f"{owner} returned status {status}, not an HTTP status")
        if status == 200:
            return value
        response = to_response(value, binding.plugin if binding else None)
        response.set_status(status)
        return response

    def request_handler(self, **args: Any) -> Any:
        """Answer one request.

        ``args`` holds the GET/POST values, ``request``, ``request_headers``,
        ``client_ip``, ``log`` and ``subpath``. Return a value, or a
        ``(status, value)`` tuple.
        """
        raise NotImplementedError(f"{type(self).__name__} must define request_handler(**args)")


async def _json_object_body(request: BaseRequest) -> Mapping[str, Any]:
    """A JSON object sent with a content type the host does not parse (``text/javascript``...).

    plugincore reads any POST body as JSON; JSON and form bodies have already
    been read into args by then, and a body that is not a JSON object is left alone.
    """
    if request.method != "POST" or not request.body_exists:
        return {}
    content_type = request.content_type
    if content_type == "application/json" or content_type in _FORM_TYPES:
        return {}
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as error:
        raise BadRequest(f"request body too large: {error.text}") from None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}
