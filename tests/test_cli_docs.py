"""docs/cli.md holds every command's --help, generated from the click commands.

Regenerate the reference section after changing a command::

    python tests/test_cli_docs.py
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from plughost.cli.commands import cli

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
BEGIN = "<!-- BEGIN GENERATED REFERENCE: python tests/test_cli_docs.py -->"
END = "<!-- END GENERATED REFERENCE -->"
WIDTH = 88


def _commands(
    command: click.Command, parent: click.Context | None, name: str
) -> Iterator[tuple[str, click.Context]]:
    context = command.make_context(
        name,
        [],
        parent=parent,
        resilient_parsing=True,
        terminal_width=WIDTH,
        max_content_width=WIDTH,
    )
    yield context.command_path, context
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(context):
            sub = command.get_command(context, sub_name)
            assert sub is not None
            yield from _commands(sub, context, sub_name)


def render_reference() -> str:
    """Markdown for every command: a heading and its --help."""
    parts = []
    for path, context in _commands(cli, None, "plughost"):
        help_text = context.command.get_help(context)
        parts.append(f"### `{path}`\n\n```text\n{help_text}\n```\n")
    return "\n".join(parts)


def _current() -> str:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(re.escape(BEGIN) + r"\n(.*)\n" + re.escape(END), text, re.S)
    assert match, f"{DOCS} has no generated reference section"
    return match.group(1)


def test_reference_is_up_to_date() -> None:
    assert _current() == render_reference(), "run: python tests/test_cli_docs.py"


def test_every_command_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for path, _ in _commands(cli, None, "plughost"):
        assert f"### `{path}`" in text


def test_completion_is_documented() -> None:
    assert "_PLUGHOST_COMPLETE" in DOCS.read_text(encoding="utf-8")


def main() -> None:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    DOCS.write_text(text[:start] + "\n" + render_reference() + "\n" + text[end:], encoding="utf-8")
    print(f"wrote {DOCS}", file=sys.stderr)


if __name__ == "__main__":
    main()
