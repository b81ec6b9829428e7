"""What real Bottle plugins expect around them, without plughost importing bottle.

- While a Bottle-style (sync) wrapper runs, ``bottle.request`` is bound to a
  WSGI view of the current request and ``bottle.response`` to a fresh
  response; the headers and status the wrapper sets on ``bottle.response``
  are carried into plughost's response. This happens only when some plugin
  has imported bottle (it is then in ``sys.modules``).
- A Bottle ``HTTPResponse`` or ``HTTPError``, raised or returned, becomes that
  response. They are recognised by shape (``status_code``, ``body``,
  ``headerlist``), never by importing bottle.
"""

from __future__ import annotations

import contextvars
import io
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypeVar

from aiohttp import web

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest
    from aiohttp.web_response import StreamResponse


class Context(Protocol):
    """What this module reads of a request's :class:`~plughost.request.context.Context`."""

    @property
    def request(self) -> BaseRequest: ...
    @property
    def params(self) -> Any: ...
    @property
    def state(self) -> dict[str, Any]: ...
    @property
    def response(self) -> StreamResponse | None: ...


_C = TypeVar("_C", bound=Context)
#: one pipeline step: an async function of the request's context
Step: TypeAlias = Callable[[_C], Awaitable[None]]

__all__ = [
    "BottleView",
    "bottle_error_response",
    "bottle_response",
    "carry_headers",
    "current_view",
    "is_bottle_error",
    "is_bottle_response",
    "with_view",
]

_CURRENT: Final[contextvars.ContextVar[BottleView | None]] = contextvars.ContextVar(
    "plughost_bottle_view", default=None
)
#: where a request's carried headers wait for its response, in ``context.state``
_STATE_KEY: Final = "plughost.bottle"
#: headers aiohttp computes itself
_NOT_CARRIED: Final = frozenset({"content-length", "transfer-encoding", "connection"})


def current_view() -> BottleView | None:
    return _CURRENT.get()


class BottleView:
    """One request as Bottle sees it, and what Bottle plugins set on ``bottle.response``."""

    __slots__ = ("bottle", "environ", "headers", "status")

    def __init__(self, bottle: Any, environ: dict[str, Any]) -> None:
        self.bottle = bottle
        self.environ = environ
        #: headers set on ``bottle.response``, in order
        self.headers: list[tuple[str, str]] = []
        #: a status set on ``bottle.response`` (None: left at 200)
        self.status: int | None = None

    def call(
        self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """In a worker thread: call ``function`` with Bottle's thread-locals bound to this view."""
        request, response = self.bottle.request, self.bottle.response
        request.bind(self.environ)
        response.bind()
        try:
            result = function(*args, **kwargs)
            # Only on success: a raised HTTPResponse replaces Bottle's response entirely.
            self._collect(response)
            return result
        finally:
            request.bind({})
            response.bind()

    def _collect(self, response: Any) -> None:
        explicit_type = "Content-Type" in response
        for name, value in response.headerlist:
            if name.lower() in _NOT_CARRIED or (name == "Content-Type" and not explicit_type):
                continue
            self.headers.append((name, value))
        if response.status_code != 200:
            self.status = response.status_code


def with_view(call: Step[_C], route: object) -> Step[_C]:
    """Wrap the ``call_function`` step of a route that runs Bottle-style wrappers."""

    async def call_with_view(context: _C) -> None:
        bottle = sys.modules.get("bottle")
        if bottle is None:
            await call(context)
            return
        request = context.request
        body = await request.read() if request.body_exists else b""
        view = BottleView(bottle, _environ(request, body, route, context.params))
        token = _CURRENT.set(view)
        try:
            await call(context)
        finally:
            _CURRENT.reset(token)
        if view.headers or view.status is not None:
            context.state[_STATE_KEY] = view

    return call_with_view


def carry_headers(create: Step[_C]) -> Step[_C]:
    """Wrap ``create_response``: apply what Bottle plugins set on ``bottle.response``."""

    async def create_and_carry(context: _C) -> None:
        await create(context)
        view = context.state.get(_STATE_KEY)
        response = context.response
        if view is None or response is None:
            return
        for name in {name for name, _ in view.headers}:
            response.headers.popall(name, None)
        for name, value in view.headers:
            response.headers.add(name, value)
        if view.status is not None:
            response.set_status(view.status)

    return create_and_carry


def _environ(request: BaseRequest, body: bytes, route: object, params: Any) -> dict[str, Any]:
    url = request.url
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query_string,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": url.raw_host or "",
        "SERVER_PORT": str(url.port or ""),
        "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
        "REMOTE_ADDR": request.remote or "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "bottle.route": route,
        "route.handle": route,
        "route.url_args": dict(params),
    }
    for name, value in request.headers.items():
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            continue
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def is_bottle_response(value: object) -> bool:
    """Whether ``value`` looks like Bottle's ``HTTPResponse`` (``HTTPError`` included)."""
    return (
        isinstance(getattr(value, "status_code", None), int)
        and hasattr(value, "body")
        and hasattr(value, "headerlist")
    )


def is_bottle_error(value: object) -> bool:
    """Whether ``value`` looks like Bottle's ``HTTPError`` (it has ``exception``, ``traceback``)."""
    return is_bottle_response(value) and hasattr(value, "exception") and hasattr(value, "traceback")


def bottle_error_response(error: Any) -> web.Response:
    """plughost's JSON error body for a Bottle ``HTTPError``, with the headers it carries.

    Bottle renders its HTML error page around the body; plughost answers
    ``{"error": body, "status": status}`` as for its own errors.
    """
    status: int = error.status_code
    body = error.body
    if body is None or body == "":
        body = getattr(error, "status_line", str(status)).partition(" ")[2] or str(status)
    elif isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    elif not isinstance(body, str | dict | list | int | float | bool):
        body = str(body)
    headers = [
        (k, v)
        for k, v in error.headerlist
        if k.lower() not in _NOT_CARRIED and k.lower() != "content-type"
    ]
    response = web.Response(
        text=json.dumps({"error": body, "status": status}),
        status=status,
        content_type="application/json",
    )
    for name, value in headers:
        response.headers.add(name, value)
    return response


def bottle_response(value: Any) -> web.Response:
    """The aiohttp response for a Bottle ``HTTPResponse``: its status, headers and body.

    A dict body is sent as JSON, as Bottle's default JSON plugin does.
    """
    status: int = value.status_code
    body = value.body
    headers = [(k, v) for k, v in value.headerlist if k.lower() not in _NOT_CARRIED]
    if isinstance(body, dict):
        body = json.dumps(body)
        headers = [(k, v) for k, v in headers if k != "Content-Type"]
        headers.append(("Content-Type", "application/json"))
    if isinstance(body, str):
        data = body.encode(_charset(headers))
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    elif body is None:
        data = b""
    else:
        data = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in body)
    response = web.Response(status=status, body=data)
    for name in {name for name, _ in headers}:
        response.headers.popall(name, None)
    for name, value_ in headers:
        response.headers.add(name, value_)
    return response


def _charset(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-type" and "charset=" in value:
            return value.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    return "utf-8"
