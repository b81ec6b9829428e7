"""The host's own behaviour, as the first hook plugin: :data:`DEFAULT_HOOKS`.

Reading input (query, form or JSON body, path params, ``request_headers``), calling the
endpoint and building the response. Plugins extend the ordinary hooks and replace
these [single] ones by registering their own.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..errors import BadRequest
from .context import Context
from .hooks import HookFunction, HookSet
from .responses import to_response

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiohttp.web_request import BaseRequest

    from .routes import Route

__all__ = ["BODY_METHODS", "DEFAULT_HOOKS", "RESERVED_INPUTS", "arguments", "read_input"]

#: input names the host supplies; a request may not set them itself
RESERVED_INPUTS: Final = frozenset({"request_headers", "request", "self"})
#: the methods whose body read_input reads
BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
#: a JSON escape of a UTF-16 surrogate; only then can a parsed string hold a lone one
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")


async def _read_input(context: Context) -> None:
    context.input = await read_input(context.request, context.params)


async def read_input(request: BaseRequest, params: Mapping[str, str]) -> dict[str, Any]:
    """The default ``read_input``: query, form or JSON body, path params, ``request_headers``.

    Raises:
        BadRequest: a malformed or oversized body, or a value the host supplies itself.
    """
    data: dict[str, Any] = dict(request.query) if request.query_string else {}
    if request.method in BODY_METHODS and request.body_exists:
        content_type = request.content_type
        if content_type == "application/json":
            data.update(await _json_body(request))
        elif content_type in _FORM_TYPES:
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge as error:
                raise _too_large(error, request) from None
            except LookupError as error:
                raise BadRequest(f"malformed form body: unknown charset ({error})") from None
            except (ValueError, AssertionError, HttpProcessingError) as error:
                raise BadRequest(f"malformed form body: {error}") from None
            data.update((key, value) for key, value in form.items())
    if data:
        for key in RESERVED_INPUTS.intersection(data):
            raise BadRequest(f"{key!r} is supplied by the host and cannot be sent as input")
    if params:
        for key in params:
            if key in data:
                raise BadRequest(f"{key!r} is a path parameter and cannot be sent as input")
        data.update(params)
    data["request_headers"] = request.headers
    return data


def _too_large(error: web.HTTPRequestEntityTooLarge, request: BaseRequest) -> BadRequest:
    if "form fields" in (error.text or ""):
        return BadRequest(f"too many form fields: at most {request.client_max_fields} are accepted")
    return BadRequest(f"request body too large: {error.text}")


async def _json_body(request: BaseRequest) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as error:
        raise _too_large(error, request) from None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise BadRequest(f"malformed JSON body: {reason}") from None
    if _SURROGATE_ESCAPE.search(raw) and not _is_unicode(body):
        raise BadRequest(
            "malformed JSON body: a string holds a lone surrogate (\\uD800-\\uDFFF "
            "not in a pair), which is not text"
        )
    if isinstance(body, dict):
        return body
    return {"body": body}


def _is_unicode(value: object) -> bool:
    """True when every string in a parsed JSON value is valid Unicode (no lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_is_unicode(key) and _is_unicode(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_is_unicode(item) for item in value)
    return True


async def _call_function(context: Context) -> None:
    route = context.route
    context.output = await route.call(**arguments(route, context.input, context.request))


def arguments(route: Route, data: dict[str, Any], request: BaseRequest) -> dict[str, Any]:
    """The keyword arguments ``route``'s endpoint takes, from the request's input."""
    signature = route.signature
    if signature.takes_all:
        kwargs = {k: v for k, v in data.items() if k != "request"}
    else:
        kwargs = {name: data[name] for name in signature.names if name in data}
    if "request" in signature.names:
        kwargs["request"] = request
    return kwargs


async def _create_response(context: Context) -> None:
    context.response = to_response(context.output, context.route.plugin)


DEFAULT_HOOKS: Final = HookSet(
    owner="plughost",
    source=None,
    functions={
        "read_input": HookFunction(_read_input, True),
        "call_function": HookFunction(_call_function, True),
        "create_response": HookFunction(_create_response, True),
    },
    always=True,
)
