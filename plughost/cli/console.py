"""Output for people and for scripts.

On a terminal, tables are printed in colour, under a ruled header. When stdout is not
a terminal, or ``NO_COLOR`` is set, or ``TERM=dumb``, they are plain aligned text with
no escape codes and no box drawing. Colour is click's ``style``: loading rich for it
would cost more than the rest of ``plughost plugins list``.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any, Final

import click

__all__ = ["Cell", "echo_json", "info", "is_plain", "print_table", "styled", "warn"]

#: a table cell: text, or (text, style) where style is a name in ``_CLICK_STYLES``
Cell = str | tuple[str, str]

_MIN_WIDTH: Final = 8
_CLICK_STYLES: Final[dict[str, dict[str, Any]]] = {
    "green": {"fg": "green"},
    "red": {"fg": "red"},
    "yellow": {"fg": "yellow"},
    "dim": {"dim": True},
    "bold": {"bold": True},
    "cyan": {"fg": "cyan"},
}


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"


def is_plain(stream: Any = None) -> bool:
    """True when output goes to a file or pipe, or colour is turned off."""
    stream = sys.stdout if stream is None else stream
    try:
        terminal = bool(stream.isatty())
    except (AttributeError, ValueError):
        terminal = False
    return not terminal or _no_color()


def styled(text: str, style: str | None, *, err: bool = False) -> str:
    """``text`` in ``style`` when colour is on, else unchanged."""
    if style is None or is_plain(sys.stderr if err else sys.stdout):
        return text
    return _paint(text, style)


def info(message: str, style: str | None = None) -> None:
    click.echo(styled(message, style))


def warn(message: str) -> None:
    """A warning, on stderr."""
    click.echo(styled("warning: ", "yellow", err=True) + message, err=True)


def echo_json(data: object) -> None:
    """``data`` as indented JSON on stdout; values JSON lacks (dates) become strings."""
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    """A table: in colour under a ruled header on a terminal, aligned plain text otherwise."""
    if is_plain():
        _plain_table(headers, rows)
    else:
        _terminal_table(headers, rows)


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell[0]


def _plain_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    lines = [[header.upper() for header in headers]]
    lines.extend([_text(cell) or "-" for cell in row] for row in rows)
    widths = [max(len(line[index]) for line in lines) for index in range(len(headers))]
    for line in lines:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _fit(widths: list[int], available: int) -> list[int]:
    """Shrink the widest columns until the row fits ``available`` characters."""
    widths = list(widths)
    gaps = 2 * (len(widths) - 1)
    while sum(widths) + gaps > available:
        widest = max(range(len(widths)), key=widths.__getitem__)
        if widths[widest] <= _MIN_WIDTH:
            break
        widths[widest] -= 1
    return widths


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _terminal_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    cells = [
        [(_text(cell), None if isinstance(cell, str) else cell[1]) for cell in row] for row in rows
    ]
    natural = [
        max([len(header), *(len(row[index][0]) for row in cells)])
        for index, header in enumerate(headers)
    ]
    widths = _fit(natural, shutil.get_terminal_size().columns)
    lines = [
        _line([(header.upper(), "bold") for header in headers], widths),
        _paint("  ".join("─" * width for width in widths), "dim"),
    ]
    lines.extend(_line(row, widths) for row in cells)
    click.echo("\n".join(lines))


def _line(cells: Sequence[tuple[str, str | None]], widths: Sequence[int]) -> str:
    """One row: each cell clipped to its column, painted, and padded to the next."""
    parts = []
    for index, (value, style) in enumerate(cells):
        shown = _clip(value, widths[index])
        parts.append(_paint(shown, style))
        if index < len(cells) - 1:
            parts.append(" " * (widths[index] - len(shown) + 2))
    return "".join(parts)


def _paint(text: str, style: str | None) -> str:
    """``text`` in ``style`` (escape codes, which click strips where they cannot show)."""
    options = _CLICK_STYLES.get(style) if style is not None else None
    return click.style(text, **options) if options else text
