"""Turning endpoint results and exceptions into aiohttp responses."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Mapping
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Final

from aiohttp import hdrs, web
from multidict import CIMultiDict

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


def _json_chunks() -> Callable[[object, int], Any]:
    """What ``json.dumps`` runs, made once instead of per call: its C encoder with the
    same settings, but no check for cycles (a cycle ends in RecursionError instead, and
    :func:`to_response` then lets ``json.dumps`` say what it says about it)."""
    default = json.JSONEncoder()
    if c_make_encoder is None:  # pragma: no cover - CPython always has _json
        return lambda data, _: (_dumps(data),)
    encoder: Callable[[object, int], Any] = c_make_encoder(
        None,
        default.default,
        encode_basestring_ascii,
        None,
        default.key_separator,
        default.item_separator,
        False,
        False,
        True,
    )
    return encoder


_encode: Final = _json_chunks()
# The headers aiohttp's Response(text=..., content_type=...) builds, made once: a response
# copies them instead of checking and joining its arguments each time.
_JSON_HEADERS: Final = CIMultiDict({hdrs.CONTENT_TYPE: "application/json; charset=utf-8"})
_TEXT_HEADERS: Final = CIMultiDict({hdrs.CONTENT_TYPE: "text/plain; charset=utf-8"})


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
            text = "".join(_encode(output, 0))
        except (TypeError, ValueError, RecursionError):
            text = _dumped(output, plugin)
        return web.Response(body=text.encode(), headers=_JSON_HEADERS)
    if isinstance(output, str):
        return web.Response(body=output.encode("utf-8"), headers=_TEXT_HEADERS)
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


def _dumped(output: object, plugin: str | None) -> str:
    """``json.dumps(output)``, its TypeError or ValueError turned into the 500 that says why."""
    try:
        return _dumps(output)
    except (TypeError, ValueError) as error:
        owner = f"plugin {plugin!r}" if plugin else "the endpoint"
        raise _unsendable(f"{owner} returned data that is not JSON-serialisable: {error}") from None


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
