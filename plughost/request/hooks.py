"""Hook plugins: what counts as one, probed once into a :class:`HookSet`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

from .context import STAGE_NAMES, Context
from .routes import ROUTES_ATTRIBUTE

__all__ = ["HookFunction", "HookPlugin", "HookSet", "hook_functions", "near_misses"]

#: public names a plugin module has for other reasons than hooks
_NOT_HOOKS: Final = frozenset({"setup", "close"})


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
    """The hook functions of an object, a module, or a mapping of hook names to functions.

    For a module, only functions defined in that module count, so a hook
    function imported from elsewhere is not run twice. A mapping is
    Flask-Micron's dict plugin (``micron.plugin(globals())``): its values under
    hook names count, wherever they were defined.
    """
    found: dict[str, HookFunction] = {}
    for name in STAGE_NAMES:
        if isinstance(source, Mapping):
            function = source.get(name)
        else:
            function = getattr(source, name, None)
        if not callable(function):
            continue
        if isinstance(source, ModuleType) and getattr(function, "__module__", None) != getattr(
            source, "__name__", None
        ):
            continue
        found[name] = HookFunction(function, inspect.iscoroutinefunction(function))
    return found


_CUTOFF: Final = 0.8


def near_misses(source: object) -> list[tuple[str, str]]:
    """Public functions of ``source`` that look like a misspelt hook: (name, nearest hook).

    A function is hook-like when it takes one argument (the context), is no
    route, and its name is close to a hook's (``proces_input``, ``normalise_input``).
    """
    misses = []
    for name, function in _public_functions(source):
        if name in STAGE_NAMES or name in _NOT_HOOKS or hasattr(function, ROUTES_ATTRIBUTE):
            continue
        # Two names whose lengths differ too much cannot be close: skip difflib for them.
        within = [
            hook
            for hook in STAGE_NAMES
            if _CUTOFF * (len(name) + len(hook)) <= 2 * min(len(name), len(hook))
        ]
        if within and _takes_one_argument(function):
            nearest = _nearest_hook(name, within)
            if nearest is not None:
                misses.append((name, nearest))
    return misses


def _nearest_hook(name: str, hooks: list[str]) -> str | None:
    # imported only for a one-argument function that is no hook: a server whose
    # plugins have none never loads difflib
    import difflib

    nearest = difflib.get_close_matches(name, hooks, n=1, cutoff=_CUTOFF)
    return nearest[0] if nearest else None


def _public_functions(source: object) -> Iterator[tuple[str, Callable[..., Any]]]:
    if isinstance(source, Mapping):
        items: list[tuple[str, Any]] = [(k, v) for k, v in source.items() if isinstance(k, str)]
    elif isinstance(source, ModuleType):
        items = [
            (k, v)
            for k, v in vars(source).items()
            if getattr(v, "__module__", None) == source.__name__
        ]
    else:
        items = []
        for name in dir(source):
            if not name.startswith("_"):
                try:
                    items.append((name, getattr(source, name)))
                except Exception:  # a property that raises is no hook
                    continue
    for name, value in items:
        if not name.startswith("_") and callable(value) and not inspect.isclass(value):
            yield name, value


def _takes_one_argument(function: Callable[..., Any]) -> bool:
    try:
        inspect.signature(function).bind(None)
    except (TypeError, ValueError):
        return False
    return True
