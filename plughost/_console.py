"""Output for people and for scripts.

On a terminal, tables are drawn with rich, in colour. When stdout is not a
terminal, or ``NO_COLOR`` is set, or ``TERM=dumb``, they are plain aligned
text with no escape codes and no box drawing, and rich is never imported.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, Final

import click

__all__ = ["Cell", "echo_json", "info", "is_plain", "print_table", "styled", "warn"]

#: a table cell: text, or (text, style) where style is a rich style name
Cell = str | tuple[str, str]

_CLICK_STYLES: Final = {
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
    return click.style(text, **_CLICK_STYLES.get(style, {}))  # type: ignore[arg-type]


def info(message: str, style: str | None = None) -> None:
    click.echo(styled(message, style))


def warn(message: str) -> None:
    """A warning, on stderr."""
    click.echo(styled("warning: ", "yellow", err=True) + message, err=True)


def echo_json(data: object) -> None:
    """``data`` as indented JSON on stdout; values JSON lacks (dates) become strings."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    """A table: rich on a terminal, aligned plain text otherwise."""
    if is_plain():
        _plain_table(headers, rows)
    else:
        _rich_table(headers, rows)


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


def _rich_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
    for header in headers:
        table.add_column(header.upper())
    for row in rows:
        table.add_row(
            *(Text(cell) if isinstance(cell, str) else Text(cell[0], style=cell[1]) for cell in row)
        )
    Console(highlight=False).print(table)
