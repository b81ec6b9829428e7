"""A JSON-schema-free input checker: the endpoint's annotations are the schema.

An input for a parameter annotated ``int``, ``float``, ``bool`` or ``str`` (or
one of them ``| None``) is converted from text, or refused with a 400 that
names it. Endpoints without such annotations are not wrapped at all.
"""

import types
import typing

import plughost

TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def to_bool(text):
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise ValueError(text)


PARSERS = {int: int, float: float, bool: to_bool, str: str}


def checked_type(hint):
    """The type to check for an annotation, or None to leave the input alone."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = rest[0] if len(rest) == 1 else None
    return hint if hint in PARSERS else None


def convert(value, target):
    if isinstance(value, target) and (target is bool or not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        return PARSERS[target](value)
    if target is float and type(value) is int:
        return float(value)
    raise ValueError(value)


class InputChecker:
    name = "check"
    api = 2

    def apply(self, callback, route):
        try:
            hints = typing.get_type_hints(route.callback)
        except (NameError, TypeError):
            return callback
        checks = {}
        for name, hint in hints.items():
            target = checked_type(hint)
            if name != "return" and target is not None:
                checks[name] = target
        if not checks:
            return callback

        async def checked(**kwargs):
            for name, target in checks.items():
                if kwargs.get(name) is None:
                    continue
                try:
                    kwargs[name] = convert(kwargs[name], target)
                except (TypeError, ValueError):
                    raise plughost.BadRequest(
                        f"{name!r}: expected {target.__name__}, got {kwargs[name]!r}"
                    ) from None
            return await callback(**kwargs)

        return checked


def setup(host):
    host.install(InputChecker())
