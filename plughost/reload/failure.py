"""A failed load described for people: the file and line, the source there, the traceback.

The host keeps one :class:`Failure` per plugin whose last load failed, read
from disk when the load fails, so the lines shown are the lines that failed
even after the file changes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..errors import PlughostError
from .importer import short_traceback

__all__ = ["Failure", "describe_failure"]

#: lines of source shown before and after the failing line
CONTEXT: Final = 2
_LONGEST_LINE: Final = 300


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a load failed: ``path:line: message``, the source around it, the traceback."""

    message: str
    path: str | None = None
    line: int | None = None
    #: (line number, text) pairs around ``line``
    source: tuple[tuple[int, str], ...] = ()
    #: the traceback's frames inside the plugin's files, or the SyntaxError's caret
    traceback: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "source": [{"line": number, "text": text} for number, text in self.source],
            "traceback": self.traceback,
        }


def describe_failure(error: PlughostError, plugins_dir: Path, *roots: Path) -> Failure:
    """What a person needs to fix ``error``: where it is, its source lines, its traceback."""
    path: Path | None = getattr(error, "path", None)
    line: int | None = getattr(error, "line", None)
    message = getattr(error, "reason", error.message)
    if error.hint:
        message = f"{message} (hint: {error.hint})"
    return Failure(
        message=message,
        path=str(path) if path is not None else None,
        line=line,
        source=_source_around(path, line) if path is not None and line else (),
        traceback=short_traceback(error, plugins_dir, *roots).strip("\n"),
    )


def _source_around(path: Path, line: int) -> tuple[tuple[int, str], ...]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()
    first = max(line - CONTEXT, 1)
    last = min(line + CONTEXT, len(lines))
    return tuple(
        (number, lines[number - 1].rstrip()[:_LONGEST_LINE]) for number in range(first, last + 1)
    )
