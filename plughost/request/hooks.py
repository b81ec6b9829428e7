"""Hook plugins: what counts as one, probed once into a :class:`HookSet`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .context import HOOK_NAMES, Context

__all__ = ["HookFunction", "HookPlugin", "HookSet", "hook_functions"]


class HookPlugin:
    """A convenience base class for hook plugins; any object with hook methods works."""


@dataclass(frozen=True, slots=True)
class HookFunction:
    function: Callable[[Context], Any]
    is_async: bool


@dataclass(frozen=True, slots=True)
class HookSet:
    """The hook functions one object or module provides, probed once."""

    #: the plugin that registered them
    owner: str
    #: the object or module they came from
    source: object
    functions: Mapping[str, HookFunction]
    #: the host's own hooks (defaults, API-key checks, CORS) run even where a route skips plugins
    always: bool = False

    @property
    def label(self) -> str:
        name = getattr(self.source, "name", None)
        return name if isinstance(name, str) and name else self.owner


def hook_functions(source: object) -> dict[str, HookFunction]:
    """The hook functions of an object or module (duck typing).

    For a module, only functions defined in that module count, so a hook
    function imported from elsewhere is not run twice.
    """
    found: dict[str, HookFunction] = {}
    for name in HOOK_NAMES:
        function = getattr(source, name, None)
        if not callable(function):
            continue
        if isinstance(source, ModuleType) and getattr(function, "__module__", None) != getattr(
            source, "__name__", None
        ):
            continue
        found[name] = HookFunction(function, inspect.iscoroutinefunction(function))
    return found
