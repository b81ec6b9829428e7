"""What a plugin's source shows, as :mod:`plughost.cli.static` reads it and the cache keeps it.

Apart from the reader so that a warm cache (:mod:`plughost.cli.sourcecache`)
answers ``plughost plugins list`` without loading the reader's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["KIND_NAMES", "SourceInfo"]

#: the kinds ``plughost plugins list`` reports
KIND_NAMES: Final = ("endpoint", "hooks", "wrapper", "mixed")


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A plugin's shape as far as its source tells."""

    #: one of :data:`KIND_NAMES`, or None when the source shows none
    kind: str | None
    #: (method, rule) pairs
    routes: tuple[tuple[str, str], ...] = ()
    #: module-level hook functions
    hooks: tuple[str, ...] = ()
    #: names of the wrapper classes the module defines
    wrappers: tuple[str, ...] = ()
    #: ``file:line: message`` when the source does not parse
    error: str | None = None
