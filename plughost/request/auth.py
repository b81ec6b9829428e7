"""API-key authentication: where a key may come from, and a constant-time check."""

from __future__ import annotations

import hmac
import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Final

from ..errors import Unauthorized

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

    from ..config import AuthType, Config

__all__ = ["KEY_ARGUMENT", "authorize", "expected_key", "key_from", "keys_equal"]

logger: Final = logging.getLogger("plughost.auth")
#: the request argument (POST body, or query when allowed) that may carry the key
KEY_ARGUMENT: Final = "apikey"
_KEY_HEADERS: Final = ("X-API-Key", "X-Custom-Auth")


def key_from(
    request: BaseRequest, args: MutableMapping[str, Any] | None, *, allow_query: bool
) -> str | None:
    """The API key a request presents, consuming an ``apikey`` argument from ``args``.

    Accepted from ``Authorization: Bearer``, ``X-API-Key``, ``X-Custom-Auth``
    (plugincore's header), an ``apikey`` body argument, and an ``apikey`` query
    argument only when ``allow_query``.
    """
    argument = args.pop(KEY_ARGUMENT, None) if args is not None else None
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    for name in _KEY_HEADERS:
        header = request.headers.get(name, "").strip()
        if header:
            return header
    if isinstance(argument, str):
        from_query = request.query.get(KEY_ARGUMENT) == argument
        if not from_query or allow_query:
            return argument
    elif allow_query and request.query.get(KEY_ARGUMENT):
        return request.query[KEY_ARGUMENT]
    return None


def expected_key(config: Config, auth_type: AuthType, plugin_key: str | None) -> str | None:
    if auth_type == "global":
        return config.auth.key
    if auth_type == "plugin":
        return plugin_key
    return None


def keys_equal(given: str, expected: str) -> bool:
    """Compare two keys in constant time; any string, lone surrogates included, is comparable."""
    # surrogatepass maps every str to distinct bytes, so no key can fail to encode.
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def authorize(
    request: BaseRequest,
    args: MutableMapping[str, Any] | None,
    *,
    auth_type: AuthType,
    expected: str | None,
    allow_query: bool,
) -> None:
    """Raise :class:`Unauthorized` unless the request carries the expected key.

    With ``auth_type = "none"`` every request passes (an ``apikey`` argument is
    still consumed so it never reaches the handler). When a key is required but
    none is configured, every request is refused.
    """
    if auth_type == "none":
        if args is not None:
            args.pop(KEY_ARGUMENT, None)
        return
    given = key_from(request, args, allow_query=allow_query)
    if given is None:
        raise Unauthorized("an API key is required")
    if expected is None or not keys_equal(given, expected):
        raise Unauthorized("invalid API key")
