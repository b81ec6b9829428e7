"""Typed plugin parameters.

A plugin may declare the shape of its ``[plugins.NAME.params]`` table with a
class named ``Params`` (a dataclass, or any class with annotated defaults)::

    @dataclass
    class Params:
        greeting: str = "hello"
        limit: int = 10

:func:`validate_params` checks a params table against it at load time;
:func:`declared_params` reads the declaration from source without importing it,
for the CLI.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Union, get_args, get_origin

from .errors import ParamsError

__all__ = [
    "PARAMS_CLASS",
    "ParamSpec",
    "check_value",
    "declared_params",
    "hint_from_source",
    "redacted",
    "validate_params",
]

PARAMS_CLASS: Final = "Params"
#: a param whose name matches is shown as ``REDACTED`` wherever the server shows params
SECRET_NAME: Final = re.compile(r"(?i)key|secret|token|passw|pwd|credential|auth|private|signature")
REDACTED: Final = "***"
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One declared parameter, as read from source."""

    name: str
    #: the annotation as written, e.g. ``"int"`` or ``"list[str]"``
    type: str
    #: the default as written, or None when the parameter is required
    default: str | None


def _fields(cls: type) -> dict[str, tuple[Any, Any]]:
    hints = typing.get_type_hints(cls)
    result: dict[str, tuple[Any, Any]] = {}
    if dataclasses.is_dataclass(cls):
        for field in dataclasses.fields(cls):
            default: Any = _MISSING
            if field.default is not dataclasses.MISSING:
                default = field.default
            elif field.default_factory is not dataclasses.MISSING:
                default = field.default_factory
            result[field.name] = (hints.get(field.name, Any), default)
        return result
    for name, hint in hints.items():
        if not name.startswith("_"):
            result[name] = (hint, getattr(cls, name, _MISSING))
    return result


def _type_name(hint: Any) -> str:
    if isinstance(hint, type) and get_origin(hint) is None:
        return hint.__name__
    return str(hint).replace("typing.", "")


def check_value(hint: Any, value: object) -> bool:
    """True when TOML ``value`` fits the annotation ``hint``."""
    if hint is Any or hint is object:
        return True
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(check_value(arg, value) for arg in get_args(hint))
    if hint is type(None):
        return value is None
    if origin in (list, tuple, set, frozenset):
        args = get_args(hint)
        if not isinstance(value, list):
            return False
        element = args[0] if args else Any
        return all(check_value(element, item) for item in value)
    if origin is dict:
        args = get_args(hint)
        if not isinstance(value, dict):
            return False
        return len(args) < 2 or all(check_value(args[1], item) for item in value.values())
    if origin is typing.Literal:
        return value in get_args(hint)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def validate_params(
    params_class: type,
    values: Mapping[str, Any],
    *,
    plugin: str,
    config_path: Path | None = None,
    config_text: str | None = None,
) -> Any:
    """Build ``params_class`` from a params table, or say exactly what is wrong.

    Raises:
        ParamsError: an unknown key, a missing required key, or a value of the
            wrong type; the message names the key and what was expected.
    """
    fields = _fields(params_class)
    for key, value in values.items():
        if key not in fields:
            known = ", ".join(fields) or "none"
            _fail(plugin, key, f"unknown key (known: {known})", None, config_path, config_text)
        hint, _ = fields[key]
        if not check_value(hint, value):
            expected = _type_name(hint)
            _fail(
                plugin,
                key,
                f"expected {expected}, got {value!r}",
                expected,
                config_path,
                config_text,
            )
    for key, (hint, default) in fields.items():
        if key not in values and default is _MISSING:
            _fail(
                plugin,
                key,
                f"required ({_type_name(hint)}) but not set",
                _type_name(hint),
                config_path,
                config_text,
            )
    try:
        return params_class(**values)
    except (TypeError, ValueError) as error:
        raise ParamsError(
            f"plugins.{plugin}.params: {error}", plugin=plugin, path=config_path
        ) from None


def _fail(
    plugin: str,
    key: str,
    message: str,
    expected: str | None,
    path: Path | None,
    text: str | None,
) -> typing.NoReturn:
    from .config import locate

    line = col = None
    if text is not None:
        line, col = locate(text, ("plugins", plugin, "params"), key)
        if line is None:
            line, col = locate(text, ("plugins", plugin), "params")
    raise ParamsError(
        f"plugins.{plugin}.params.{key}: {message}",
        plugin=plugin,
        key=key,
        expected=expected,
        path=path,
        line=line,
        col=col,
    )


def declared_params(path: Path) -> dict[str, ParamSpec] | None:
    """The ``Params`` declaration in a plugin's source, read without importing it.

    Returns None when the plugin declares no ``Params`` class or does not parse.
    """
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == PARAMS_CLASS:
            specs: dict[str, ParamSpec] = {}
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    name = item.target.id
                    if name.startswith("_"):
                        continue
                    default = ast.unparse(item.value) if item.value is not None else None
                    specs[name] = ParamSpec(name, ast.unparse(item.annotation), default)
            return specs
    return None


_HINT_NAMESPACE: Final[dict[str, Any]] = {
    "__builtins__": {},
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "None": None,
    "Any": Any,
    "Literal": typing.Literal,
    "Optional": typing.Optional,
    "Union": Union,
    "typing": typing,
}


def hint_from_source(annotation: str) -> Any:
    """Turn an annotation read by :func:`declared_params` back into a type hint.

    Only builtin and ``typing`` names are understood; anything else is ``Any``.
    """
    try:
        return eval(annotation, dict(_HINT_NAMESPACE))  # only builtin and typing names are in scope
    except Exception:
        return Any


def redacted(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with every value under a secret-sounding name (nested too) replaced.

    >>> redacted({"greeting": "hi", "api_key": "s3cret", "db": {"password": "x"}})
    {'greeting': 'hi', 'api_key': '***', 'db': {'password': '***'}}
    """
    shown: dict[str, Any] = {}
    for key, value in params.items():
        if SECRET_NAME.search(key):
            shown[key] = REDACTED
        elif isinstance(value, Mapping):
            shown[key] = redacted(value)
        else:
            shown[key] = value
    return shown
