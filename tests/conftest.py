"""Fixtures shared by plughost's own tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture
def writes_bytecode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reload tests run as a user's Python does: writing .pyc files."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    yield
