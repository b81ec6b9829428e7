"""A route's config: Bottle's flattened dotted keys, with nested access too.

Bottle stores ``@route(..., schemas={"body": Item})`` as
``route.config["schemas.body"]``, and its plugins iterate the keys looking for
their namespace. plughost wrappers and hooks read ``route.config["schemas"]``
as the dict that was given. :class:`RouteConfig` answers both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["RouteConfig", "flatten"]


def flatten(config: Mapping[str, Any], namespace: str = "") -> dict[str, Any]:
    """Bottle's ``ConfigDict.load_dict``: nested dicts become dotted keys.

    >>> flatten({"schemas": {"body": 1, "query": {"q": 2}}, "x": 3})
    {'schemas.body': 1, 'schemas.query.q': 2, 'x': 3}
    """
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str):
            raise TypeError(f"route config key {key!r} is not a string")
        dotted = f"{namespace}.{key}".strip(".")
        if isinstance(value, dict):
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


class RouteConfig(Mapping[str, Any]):
    """Read-only route config: iterates Bottle's dotted keys; ``[key]`` takes either form.

    ``config["schemas.body"]`` and ``config["schemas"]["body"]`` are the same
    value; ``list(config)`` is ``["schemas.body"]``, as in Bottle. Two configs
    are equal when they flatten to the same keys and values, so a config also
    equals the nested dict it was built from.
    """

    __slots__ = ("_flat", "_nested")

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._nested = dict(config)
        self._flat = flatten(self._nested)

    def __getitem__(self, key: str) -> Any:
        try:
            return self._flat[key]
        except KeyError:
            pass
        value: Any = self._nested
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise KeyError(key)
            value = value[part]
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._flat)

    def __len__(self) -> int:
        return len(self._flat)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RouteConfig):
            return self._flat == other._flat
        if isinstance(other, Mapping):
            try:
                return self._flat == flatten(other)
            except TypeError:
                return False
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def nested(self) -> dict[str, Any]:
        """A copy of the config as it was given, nested dicts and all."""
        return dict(self._nested)

    def __repr__(self) -> str:
        return f"RouteConfig({self._nested!r})"
