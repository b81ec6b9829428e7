"""Turning endpoint results and exceptions into aiohttp responses."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from ..errors import HTTPError
from .bottle_compat import (
    bottle_error_response,
    bottle_response,
    is_bottle_error,
    is_bottle_response,
)

__all__ = [
    "UnsendableOutputError",
    "error_response",
    "exception_response",
    "json_response",
    "to_response",
]

logger: Final = logging.getLogger("plughost.request")
_dumps: Final = json.dumps


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=_dumps(data), status=status, content_type="application/json", headers=headers
    )


def error_response(
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    detail: str | None = None,
) -> web.Response:
    """A JSON error body: ``{"error": message, "status": status}``."""
    body: dict[str, Any] = {"error": message, "status": status}
    if detail is not None:
        body["traceback"] = detail
    return json_response(body, status=status, headers=headers)


class UnsendableOutputError(HTTPError, TypeError):
    """An endpoint returned something plughost cannot send; answered with a 500 that says so."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message)


def _unsendable(message: str) -> UnsendableOutputError:
    # The message names the plugin and the type, never the data: the author
    # needs it to fix the plugin, and it is logged for whoever runs the host.
    logger.error("%s", message)
    return UnsendableOutputError(message)


def to_response(output: object, plugin: str | None = None) -> web.StreamResponse:
    """Map an endpoint's result: dict/list to JSON, str to text, None to 204.

    An aiohttp response passes through unchanged, bytes are sent as
    ``application/octet-stream``, and a Bottle ``HTTPResponse`` becomes that
    response (an ``HTTPError``, plughost's JSON error body). Anything else raises
    :class:`UnsendableOutputError` (a TypeError) naming the plugin and the
    type, which the pipeline answers with a 500 carrying that message.
    """
    kind = type(output)
    # The common dict and list first: isinstance against StreamResponse (a
    # MutableMapping, so an ABC) is slow.
    if kind is not dict and kind is not list and isinstance(output, web.StreamResponse):
        return output
    if kind is dict or kind is list or isinstance(output, dict | list):
        try:
            text = _dumps(output)
        except (TypeError, ValueError) as error:
            owner = f"plugin {plugin!r}" if plugin else "the endpoint"
            raise _unsendable(
                f"{owner} returned data that is not JSON-serialisable: {error}"
            ) from None
        return web.Response(text=text, content_type="application/json")
    if isinstance(output, str):
        return web.Response(text=output, content_type="text/plain")
    if output is None:
        return web.Response(status=204)
    if isinstance(output, bytes | bytearray):
        return web.Response(body=bytes(output), content_type="application/octet-stream")
    if is_bottle_response(output):
        if is_bottle_error(output):
            return bottle_error_response(output)
        return bottle_response(output)
    owner = f"plugin {plugin!r}" if plugin else "the endpoint"
    raise _unsendable(
        f"{owner} returned {type(output).__name__!r}, which plughost cannot send; "
        "return a dict, list, str, bytes, None or an aiohttp response"
    )


def exception_response(error: BaseException, *, debug: bool, where: str) -> web.StreamResponse:
    """The response for an exception raised while handling a request."""
    if isinstance(error, HTTPError):
        return error_response(error.status, error.message)
    if isinstance(error, web.HTTPException):
        if error.status < 400:
            # A redirect (or other non-error) raised as aiohttp does it. Answer with a
            # copy: sending the exception object itself is deprecated by aiohttp.
            return web.Response(
                status=error.status, reason=error.reason, headers=error.headers, body=error.body
            )
        headers = {k: v for k, v in error.headers.items() if k.lower() in ("allow", "location")}
        return error_response(error.status, _http_exception_message(error), headers=headers)
    if is_bottle_response(error):
        if is_bottle_error(error):
            return bottle_error_response(error)
        return bottle_response(error)
    logger.error("%s: unhandled %s", where, type(error).__name__, exc_info=error)
    detail = "".join(traceback.format_exception(error)) if debug else None
    return error_response(500, "Internal Server Error", detail=detail)


def _http_exception_message(error: web.HTTPException) -> str:
    """The exception's own text, or its reason when aiohttp filled in ``"409: Conflict"``."""
    text = error.text
    if not text or text == f"{error.status}: {error.reason}":
        return error.reason
    return text
