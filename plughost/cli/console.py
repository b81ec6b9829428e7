"""Output for people and for scripts.

On a terminal, tables are printed with rich, in colour, under a ruled header. When stdout is not a
terminal, or ``NO_COLOR`` is set, or ``TERM=dumb``, they are plain aligned
text with no escape codes and no box drawing, and rich is never imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, Final

import click

__all__ = ["Cell", "echo_json", "info", "is_plain", "print_table", "styled", "warn"]

#: a table cell: text, or (text, style) where style is a rich style name
Cell = str | tuple[str, str]

_MIN_WIDTH: Final = 8
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
    import json

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


def _rich_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    # Laid out here and printed as one rich Text: rich's Table measures and
    # wraps every cell, which costs ~25 ms for 50 rows, and start-up time is
    # part of the experience (bench/cli_startup.py).
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False)
    cells = [
        [(_text(cell), None if isinstance(cell, str) else cell[1]) for cell in row] for row in rows
    ]
    natural = [
        max([len(header), *(len(row[index][0]) for row in cells)])
        for index, header in enumerate(headers)
    ]
    widths = _fit(natural, console.width)
    text = Text()
    for index, header in enumerate(headers):
        last = index == len(headers) - 1
        label = _clip(header.upper(), widths[index])
        text.append(label if last else label.ljust(widths[index] + 2), style="bold")
    text.append("\n")
    text.append("  ".join("─" * width for width in widths) + "\n", style="dim")
    for row in cells:
        for index, (value, style) in enumerate(row):
            last = index == len(row) - 1
            shown = _clip(value, widths[index])
            text.append(shown, style=style or "")
            if not last:
                text.append(" " * (widths[index] - len(shown) + 2))
        text.append("\n")
    console.print(text, end="", soft_wrap=True)
