"""Immutable route-table snapshots over aiohttp's own ``UrlDispatcher``.

A :class:`RouteTable` is a frozen aiohttp ``UrlDispatcher`` over a set of routes;
the host swaps whole tables, never edits one. Beside it, :attr:`RouteTable.plain` maps
the paths of plain rules (no ``{param}``) straight to their routes, so that the request
entry answers most requests with one dictionary lookup and leaves the dispatcher's walk
over its resources to the rest: dynamic rules, 404 and 405.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, final

from aiohttp.abc import AbstractMatchInfo
from aiohttp.hdrs import METH_ANY
from aiohttp.web_urldispatcher import AbstractRoute, PlainResource, UrlDispatcher

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
    plugin only, and costs one ``register_resource`` per other rule. When no rule
    changed (most reloads), it keeps the previous dispatcher itself.

    Raises:
        RouteConflictError: two routes claim the same method and rule.
    """

    __slots__ = ("_by_rule", "_keys", "by_route", "plain", "router", "routes")

    def __init__(self, routes: Iterable[Route] = (), previous: RouteTable | None = None) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        #: each route's (method, rule), in order
        self._keys = tuple([(item.method, item.rule) for item in self.routes])
        if previous is not None and previous._keys == self._keys:
            self._patch(previous)
            return
        #: the frozen aiohttp router; the request entry resolves against it directly
        self.router = UrlDispatcher()
        #: each aiohttp route's plughost Route
        self.by_route: dict[AbstractRoute, Route] = {}
        #: each rule's routes, aiohttp resource and how the entry finds it
        self._by_rule: dict[str, _Rule] = {}
        #: request path -> method -> Route, for the plain rules where the dispatcher would
        #: pick that very route (see :class:`_Shadows`); a miss means: ask the dispatcher
        self.plain: dict[str, dict[str, Route]] = {}
        shadows = _Shadows()
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
            if kept is not None and kept.routes == group:
                self.router.register_resource(kept.resource)
            else:
                kept = _Rule(self.router, rule, group, claimed)
            self._by_rule[rule] = kept
            self.by_route.update(kept.own)
            if kept.pattern is not None:
                shadows.add(kept.prefix, kept.pattern)
            elif kept.methods is not None and not (shadows and shadows.match(kept.prefix)):
                self.plain[kept.prefix] = kept.methods
        self.router.freeze()

    def _patch(self, previous: RouteTable) -> None:
        """The same methods and rules as ``previous``, in the same order (most reloads):
        keep its frozen dispatcher, and point only the rules whose routes changed at
        their new routes. No conflict can arise that ``previous`` did not have.

        Publishing then costs dictionary copies, not an aiohttp registration per rule.
        """
        self.router = previous.router
        self._by_rule = dict(previous._by_rule)
        self.by_route = dict(previous.by_route)
        self.plain = dict(previous.plain)
        pairs = zip(self.routes, previous.routes, strict=True)
        changed = {new.rule for new, old in pairs if new is not old}
        if not changed:
            return
        groups: dict[str, list[Route]] = {rule: [] for rule in changed}
        for item in self.routes:
            if item.rule in changed:
                groups[item.rule].append(item)
        for rule, group in groups.items():
            old = previous._by_rule[rule]
            kept = old.serving(group)
            self._by_rule[rule] = kept
            self.by_route.update(kept.own)
            if kept.methods is not None and previous.plain.get(kept.prefix) is old.methods:
                self.plain[kept.prefix] = kept.methods

    async def resolve(self, request: BaseRequest) -> tuple[Route | None, AbstractMatchInfo]:
        """The route for ``request`` and aiohttp's match info (path params, or the 404/405)."""
        match = await self.router.resolve(request)  # type: ignore[arg-type]
        return self.by_route.get(match.route), match

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)

    def __len__(self) -> int:
        return len(self.routes)


@final
class _Rule:
    """One rule of a table: its routes, its aiohttp resource and that resource's routes,
    and what the entry's lookup and :class:`_Shadows` need, worked out once."""

    __slots__ = ("methods", "own", "pattern", "prefix", "resource", "routes")

    def __init__(
        self,
        router: UrlDispatcher,
        rule: str,
        routes: list[Route],
        claimed: dict[tuple[str, str], Route],
    ) -> None:
        try:
            resource = router.add_resource(rule)
        except ValueError as error:
            raise PluginError(
                f"bad route rule {rule!r}: {error}", plugin=routes[0].plugin
            ) from None
        own: dict[AbstractRoute, Route] = {}
        try:
            for item in routes:
                own[resource.add_route(item.method, _unused)] = item
            for item in routes:
                if item.method == "GET" and ("HEAD", rule) not in claimed:
                    own[resource.add_route("HEAD", _unused)] = item
        except RuntimeError:  # aiohttp: a route for every method shares its rule with none
            every = next(r for r in routes if r.method == METH_ANY)
            other = next(r for r in routes if r is not every)
            raise RouteConflictError(
                f"{rule}: {_owner(every)} takes every method (method='*') and "
                f"{_owner(other)} claims {other.method}",
                plugin=other.plugin,
                hint="change one of the rules, or disable one of the plugins",
            ) from None
        self.routes = routes
        self.resource: Any = resource
        #: each aiohttp route's plughost Route
        self.own: dict[AbstractRoute, Route] = own
        #: a plain rule's path; a dynamic rule's text before its first ``{``
        self.prefix = resource.canonical
        #: a plain rule's routes by method, unless one takes any method (left to aiohttp)
        self.methods: dict[str, Route] | None = None
        #: a dynamic rule's regular expression
        self.pattern: re.Pattern[str] | None = None
        if isinstance(resource, PlainResource):
            methods = {aiohttp_route.method: item for aiohttp_route, item in own.items()}
            if METH_ANY not in methods:
                self.methods = methods
        else:
            pattern = resource.get_info().get("pattern")
            self.prefix = self.prefix.partition("{")[0]
            if not isinstance(pattern, re.Pattern):  # pragma: no cover - aiohttp's resources
                pattern, self.prefix = re.compile(".*"), ""
            self.pattern = pattern

    def serving(self, routes: list[Route]) -> _Rule:
        """This rule, on the same aiohttp resource, leading to ``routes`` (same methods)."""
        by_method = {item.method: item for item in routes}
        rule = copy.copy(self)
        rule.routes = routes
        # A HEAD route aiohttp got for a GET one leads to the GET route.
        rule.own = {r: by_method.get(r.method) or by_method["GET"] for r in self.own}
        if self.methods is not None:
            rule.methods = {m: by_method.get(m) or by_method["GET"] for m in self.methods}
        return rule


class _Shadows:
    """The dynamic rules registered so far, to tell which plain paths they could shadow.

    aiohttp's dispatcher (3.10.6 and later) compares a plain rule's path with the
    request's ``rel_url.path_safe``, and finds it before any dynamic rule except one
    registered earlier under the same index key: only such a rule can answer a request
    for a plain path instead of the plain rule. A plain path that any dynamic rule
    registered before it matches is therefore left to the dispatcher. A dynamic rule
    can match a path only if the path starts with the rule's text before its first
    ``{``, so rules are kept by that prefix and only those whose prefix starts the
    path are tried.
    """

    __slots__ = ("_by_prefix", "_lengths")

    def __init__(self) -> None:
        self._by_prefix: dict[str, list[re.Pattern[str]]] = {}
        self._lengths: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self._by_prefix)

    def add(self, prefix: str, pattern: re.Pattern[str]) -> None:
        self._by_prefix.setdefault(prefix, []).append(pattern)
        self._lengths.add(len(prefix))

    def match(self, path: str) -> bool:
        """True when a dynamic rule added so far matches ``path``."""
        for length in self._lengths:
            patterns = self._by_prefix.get(path[:length]) if length <= len(path) else None
            if patterns and any(pattern.fullmatch(path) for pattern in patterns):
                return True
        return False


def _owner(item: Route) -> str:
    return f"plugin {item.plugin!r}" if item.plugin else "the host"


async def _unused(request: Request) -> StreamResponse:  # pragma: no cover
    raise AssertionError("plughost dispatches routes itself")
