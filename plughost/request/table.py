"""Immutable route-table snapshots over aiohttp's own ``UrlDispatcher``.

A :class:`RouteTable` is a frozen aiohttp ``UrlDispatcher`` over a set of routes;
the host swaps whole tables, never edits one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, final

from aiohttp.abc import AbstractMatchInfo
from aiohttp.web_urldispatcher import AbstractRoute, UrlDispatcher

from ..errors import PluginError, RouteConflictError
from .routes import Route

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest, Request
    from aiohttp.web_response import StreamResponse

__all__ = ["RouteTable"]


@final
class RouteTable:
    """An immutable snapshot of routes over a frozen aiohttp ``UrlDispatcher``.

    Built with the ``previous`` snapshot, it reuses the aiohttp resource (and its
    aiohttp routes) of every rule served by the very same :class:`Route` objects as
    there, so publishing after one plugin changed builds aiohttp routes for that
    plugin only, and costs one ``register_resource`` per other rule.

    Raises:
        RouteConflictError: two routes claim the same method and rule.
    """

    __slots__ = ("_by_rule", "by_route", "router", "routes")

    def __init__(self, routes: Iterable[Route] = (), previous: RouteTable | None = None) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        #: the frozen aiohttp router; the request entry resolves against it directly
        self.router = UrlDispatcher()
        #: each aiohttp route's plughost Route
        self.by_route: dict[AbstractRoute, Route] = {}
        #: rule -> (its routes in order, its aiohttp resource, that resource's routes)
        self._by_rule: dict[str, tuple[list[Route], Any, dict[AbstractRoute, Route]]] = {}
        claimed: dict[tuple[str, str], Route] = {}
        groups: dict[str, list[Route]] = {}
        for item in self.routes:
            key = (item.method, item.rule)
            other = claimed.get(key)
            if other is not None:
                raise RouteConflictError(
                    f"{item.method} {item.rule} is claimed by {_owner(other)} and {_owner(item)}",
                    plugin=item.plugin,
                    hint="change one of the rules, or disable one of the plugins",
                )
            claimed[key] = item
            groups.setdefault(item.rule, []).append(item)
        reusable = previous._by_rule if previous is not None else {}
        for rule, group in groups.items():
            kept = reusable.get(rule)
            # Route compares by identity: == means the very same Route objects, in order
            if kept is not None and kept[0] == group:
                self.router.register_resource(kept[1])
                self.by_route.update(kept[2])
                self._by_rule[rule] = kept
                continue
            try:
                resource = self.router.add_resource(rule)
            except ValueError as error:
                raise PluginError(
                    f"bad route rule {rule!r}: {error}", plugin=group[0].plugin
                ) from None
            own: dict[AbstractRoute, Route] = {
                resource.add_route(item.method, _unused): item for item in group
            }
            for item in group:
                if item.method == "GET" and ("HEAD", rule) not in claimed:
                    own[resource.add_route("HEAD", _unused)] = item
            self._by_rule[rule] = (group, resource, own)
            self.by_route.update(own)
        self.router.freeze()

    async def resolve(self, request: BaseRequest) -> tuple[Route | None, AbstractMatchInfo]:
        """The route for ``request`` and aiohttp's match info (path params, or the 404/405)."""
        match = await self.router.resolve(request)  # type: ignore[arg-type]
        return self.by_route.get(match.route), match

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)

    def __len__(self) -> int:
        return len(self.routes)


def _owner(item: Route) -> str:
    return f"plugin {item.plugin!r}" if item.plugin else "the host"


async def _unused(request: Request) -> StreamResponse:  # pragma: no cover
    raise AssertionError("plughost dispatches routes itself")
