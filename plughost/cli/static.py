"""What a plugin is, read from its source without importing it.

``plughost plugins list`` must never run a plugin's code, so it reads the
module's syntax tree instead: ``BasePlugin`` subclasses make an endpoint,
module-level hook functions a hook plugin, ``install(...)`` or a class with
``apply`` a wrapper. Code that registers things dynamically is not seen; the
imported view is :mod:`plughost.cli.inspection`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

from ..request.context import STAGE_NAMES
from .sourceinfo import SourceInfo

__all__ = ["analyse"]

_HOOKS: Final = frozenset(STAGE_NAMES)
_ENDPOINT_METHODS: Final = ("GET", "POST")


def analyse(path: Path, route_path: str | None = None) -> SourceInfo:
    """Read the plugin module at ``path``.

    Args:
        path: ``NAME.py`` or a package's ``__init__.py``.
        route_path: ``[plugins.NAME] route_path``, which overrides the one an
            endpoint class declares.
    """
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as error:
        return SourceInfo(None, error=f"{path}:{error.lineno}: {error.msg}")
    except (OSError, ValueError) as error:
        return SourceInfo(None, error=f"{path}: {error}")
    routes: list[tuple[str, str]] = []
    hooks = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in _HOOKS
    ]
    endpoint = False
    wrappers: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            if any(_name_of(base) == "BasePlugin" for base in node.bases):
                endpoint = True
                path_value = route_path or _class_string(node, "route_path") or node.name.lower()
                rule = "/" + path_value.lstrip("/")
                routes.extend((method, rule) for method in _ENDPOINT_METHODS)
            elif _defines(node, "apply"):
                wrappers.append(_class_string(node, "name") or node.name)
    calls: set[str] = set()
    _scan(tree.body, routes, calls)
    installs = "install" in calls
    adds_hooks = "add_hooks" in calls
    kinds = [
        kind
        for kind, present in (
            ("endpoint", endpoint),
            ("hooks", bool(hooks) or adds_hooks),
            ("wrapper", installs or bool(wrappers)),
        )
        if present
    ]
    if not kinds and routes:
        kinds = ["endpoint"]
    kind = kinds[0] if len(kinds) == 1 else "mixed" if kinds else None
    return SourceInfo(kind, tuple(dict.fromkeys(routes)), tuple(hooks), tuple(wrappers))


_BLOCKS: Final = ("body", "orelse", "finalbody")


def _scan(body: list[ast.stmt], routes: list[tuple[str, str]], calls: set[str]) -> None:
    """Collect route declarations and the names of statement-level calls.

    Walks statements only, not every expression: ``plugins list`` reads every
    plugin on each run, and a full ``ast.walk`` costs several times more.
    """
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                routes.extend(_route_decorator(decorator))
        value = getattr(node, "value", None)
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Call):
            called = _name_of(value.func)
            if called is not None:
                calls.add(called)
                if called == "add_route":
                    routes.extend(_route_call(value, method_index=2))
        for block in _BLOCKS:
            inner = getattr(node, block, None)
            if isinstance(inner, list):
                _scan(inner, routes, calls)
        for handler in getattr(node, "handlers", ()):
            _scan(handler.body, routes, calls)


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _defines(node: ast.ClassDef, method: str) -> bool:
    return any(
        isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == method
        for item in node.body
    )


def _class_string(node: ast.ClassDef, attribute: str) -> str | None:
    for item in node.body:
        value: ast.expr | None = None
        if isinstance(item, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == attribute for target in item.targets
        ):
            value = item.value
        elif (
            isinstance(item, ast.AnnAssign)
            and isinstance(item.target, ast.Name)
            and item.target.id == attribute
        ):
            value = item.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
    return None


def _route_decorator(decorator: ast.expr) -> list[tuple[str, str]]:
    if isinstance(decorator, ast.Call) and _name_of(decorator.func) == "route":
        return _route_call(decorator, method_index=1)
    return []


def _route_call(call: ast.Call, *, method_index: int) -> list[tuple[str, str]]:
    rule_node = call.args[0] if call.args else _keyword(call, "rule")
    if not (isinstance(rule_node, ast.Constant) and isinstance(rule_node.value, str)):
        return []
    method_node = (
        call.args[method_index] if len(call.args) > method_index else _keyword(call, "method")
    )
    methods = _strings(method_node) if method_node is not None else ["GET"]
    return [(method.upper(), rule_node.value) for method in methods]


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _strings(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [
            item.value
            for item in node.elts
            if isinstance(item, ast.Constant) and isinstance(item.value, str)
        ]
    return []
