"""``plughost plugins set NAME KEY=VALUE``: read each assignment and check it.

VALUE is a TOML value (``20`` an integer, ``true`` a boolean, ``"x"`` a
string); what TOML cannot read is taken as a string, so a bare word works.
When the plugin declares ``Params``, each key and value is checked against the
declaration, read from source without importing the plugin.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..config import Config
from ..errors import ParamsError, did_you_mean
from .render import format_value

__all__ = ["Assignment", "AssignmentError", "checked_values", "parse_assignment"]

_KEY: Final = re.compile(r"[A-Za-z0-9_-]+\Z")


class AssignmentError(ValueError):
    """An argument that is not ``KEY=VALUE``: a usage error."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """One ``KEY=VALUE`` argument."""

    key: str
    value: Any
    #: VALUE as typed
    raw: str
    #: VALUE was read as an unquoted TOML number, boolean, date, list or table
    converted: bool


def parse_assignment(text: str) -> Assignment:
    """Read ``KEY=VALUE``.

    Raises:
        AssignmentError: no ``=``, an empty key, or a key TOML cannot write bare.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise AssignmentError(f"{text!r}: expected KEY=VALUE")
    if not _KEY.match(key):
        raise AssignmentError(f"{key!r}: a key is letters, digits, '_' and '-'")
    try:
        parsed = tomllib.loads(f"value = {raw}")
    except tomllib.TOMLDecodeError:
        return Assignment(key, raw, raw, False)
    if set(parsed) != {"value"}:
        return Assignment(key, raw, raw, False)
    value = parsed["value"]
    return Assignment(key, value, raw, not isinstance(value, str))


def checked_values(config: Config, name: str, assignments: Sequence[Assignment]) -> dict[str, Any]:
    """The values to write, checked against the plugin's declared ``Params``.

    A value for a ``str`` parameter that TOML read as something else
    (``version=1.0``) is kept as the text typed.

    Raises:
        ParamsError: a key the plugin does not declare, or a value of the wrong type.
    """

    from ..params import check_value, declared_params, hint_from_source
    from ..sources import Sources

    values = {a.key: a.value for a in assignments}
    plugin = config.plugin(name)
    source = Sources.scan(config.plugins_dir).resolve(name, plugin.source if plugin else None)
    declared = declared_params(source.path) if source is not None else None
    if declared is None:
        return values
    for assignment in assignments:
        key = assignment.key
        where = f"plugins.{name}.params.{key}"
        spec = declared.get(key)
        if spec is None:
            error = ParamsError(
                f"{where}: the plugin's Params declares no {key!r}", plugin=name, key=key
            )
            error.hint = did_you_mean(
                key, declared, f"it declares: {', '.join(declared) or 'nothing'}"
            )
            raise error
        hint = hint_from_source(spec.type)
        if hint is str and assignment.converted:
            values[key] = assignment.raw.strip()
        if not check_value(hint, values[key]):
            error = ParamsError(
                f"{where}: expected {spec.type}, got {format_value(values[key])}",
                plugin=name,
                key=key,
                expected=spec.type,
            )
            if spec.default is not None:
                error.hint = f"for example: plughost plugins set {name} {key}={spec.default}"
            raise error
    return values
