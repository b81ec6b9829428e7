"""Named callable shapes shared across plughost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    import asyncio

    from aiohttp.web_request import BaseRequest
    from aiohttp.web_response import StreamResponse

__all__ = ["Callback", "Handler", "Inflight", "WrapperPlugin"]

#: an endpoint callback after normalisation: always a coroutine function
Callback: TypeAlias = Callable[..., Awaitable[Any]]
#: a route's compiled request handler: the request and its path parameters
Handler: TypeAlias = "Callable[[BaseRequest, Mapping[str, str]], Awaitable[StreamResponse]]"


@runtime_checkable
class WrapperPlugin(Protocol):
    """A Bottle-style route wrapper: ``apply`` returns the callback to call for ``route``.

    It may also carry ``name``, ``api = 2``, ``setup(host)`` and ``close()``; a plain
    callable taking the callback is a wrapper too.
    """

    def apply(self, callback: Callable[..., Any], route: Any) -> Callable[..., Any]: ...


class Inflight(Protocol):
    """One plugin version as the request entry counts the requests inside it.

    The entry adds one to ``inflight`` of every version a route's handler runs, and
    takes it away when the request ends; once ``draining`` is set (a newer version
    replaced this one), the last request out sets ``drained``. See
    :mod:`plughost.reload.retire`.
    """

    inflight: int
    draining: bool
    drained: asyncio.Event
