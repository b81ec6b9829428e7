"""docs/migrating.md: every row of a table with a "tested by" column names tests that exist.

A cell lists ``file.py::test_name`` and then, for the same file, more bare
``test_name`` entries, each in backticks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "migrating.md"
TESTS = ROOT / "tests"
#: the sections whose every table row must be backed by a test
BACKED = ("## From Flask-Micron", "## From Bottle")


def _cells(line: str) -> list[str]:
    """A table row's cells; a ``|`` inside backticks is not a separator."""
    cells, current, in_code = [], "", False
    for char in line.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells


def _sections() -> dict[str, list[list[str]]]:
    """For each ``## `` section, the rows of its tables that have a "tested by" column."""
    sections: dict[str, list[list[str]]] = {}
    title = ""
    tested = False
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line.strip()
            sections.setdefault(title, [])
            tested = False
        elif line.startswith("|"):
            cells = _cells(line)
            if cells[-1] == "tested by":
                tested = True
            elif tested and not set(line) <= set("|-: "):
                sections[title].append(cells)
        else:
            tested = False
    return sections


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def _references(cell: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    current_file = ""
    for item in re.findall(r"`([^`]+)`", cell):
        file, _, name = item.rpartition("::")
        if file:
            current_file = file
        found.append((current_file, name))
    return found


@pytest.mark.parametrize("title", BACKED)
def test_every_row_is_backed_by_a_test(title: str) -> None:
    rows = _sections()[title]
    assert rows, f"{title}: no table with a 'tested by' column"
    missing = []
    for row in rows:
        references = _references(row[-1])
        if not references:
            missing.append(f"{row[0]}: no test named")
        for file, name in references:
            path = TESTS / file
            if not file or not path.is_file() or name not in _test_names(path):
                missing.append(f"{row[0]}: {file}::{name} does not exist")
    assert missing == []
