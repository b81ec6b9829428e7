"""Named callable shapes shared across plughost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from aiohttp.abc import AbstractMatchInfo
    from aiohttp.web_request import BaseRequest
    from aiohttp.web_response import StreamResponse

__all__ = ["Callback", "Handler"]

#: an endpoint callback after normalisation: always a coroutine function
Callback: TypeAlias = Callable[..., Awaitable[Any]]
#: a route's compiled request handler
Handler: TypeAlias = "Callable[[BaseRequest, AbstractMatchInfo], Awaitable[StreamResponse]]"
