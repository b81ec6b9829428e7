"""Endpoint plugins in the plugincore style: ``BasePlugin.request_handler(**args)``."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from .request.auth import authorize

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

    from .config import AuthType, Config
    from .tasks import TaskGroup

__all__ = ["BasePlugin"]


class BasePlugin:
    """Subclass and define ``request_handler(self, **args)``; it answers GET and POST.

    The host instantiates each subclass found in an enabled plugin and mounts it
    at ``/<route_path>``. ``route_path`` comes from ``[plugins.NAME] route_path``,
    else this class attribute, else the class name in lower case.

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
    """

    route_path: ClassVar[str | None] = None
    auth_type: ClassVar[AuthType | None] = None

    def __init__(
        self,
        config: Config,
        route_path: str,
        auth_type: AuthType,
        params: Any,
        *,
        apikey: str | None = None,
        tasks: TaskGroup | None = None,
        keys: Callable[[], tuple[str | None, bool]] | None = None,
    ) -> None:
        self.config = config
        self.route_path = route_path  # type: ignore[misc]
        self.auth_type = auth_type  # type: ignore[misc]
        self.params = params
        self.tasks = tasks
        self._apikey = apikey
        #: the host's live (expected key, allow_query_key), so key edits apply at once
        self._keys = keys

    async def handle_request(self, request: BaseRequest, **args: Any) -> Any:
        """Check the API key, then call :meth:`request_handler` with the request's args."""
        if self._keys is not None:
            expected, allow_query = self._keys()
        else:
            expected, allow_query = self._apikey, self.config.auth.allow_query_key
        authorize(
            request,
            args,
            auth_type=self.auth_type or "none",
            expected=expected,
            allow_query=allow_query,
        )
        handler = self.request_handler
        if inspect.iscoroutinefunction(handler):
            return await handler(**args)
        return await asyncio.to_thread(functools.partial(handler, **args))

    def request_handler(self, **args: Any) -> Any:
        """Answer one request. ``args`` holds the GET/POST values and ``request_headers``."""
        raise NotImplementedError(f"{type(self).__name__} must define request_handler(**args)")
