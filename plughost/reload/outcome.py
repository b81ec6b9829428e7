"""What a load leaves behind: each plugin's state and status, and one load's result."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..errors import PlughostError
from .failure import Failure

__all__ = ["LoadResult", "PluginState", "PluginStatus"]


class PluginState(StrEnum):
    LOADED = "loaded"
    ERROR = "error"
    DISABLED = "disabled"
    MISSING = "missing"


@dataclass(slots=True)
class PluginStatus:
    """What the host knows about one configured or discovered plugin."""

    name: str
    state: PluginState
    #: how many versions have been loaded (0 before the first)
    version: int = 0
    loaded_at: float | None = None
    error: str | None = None
    #: how long the last load, reload or failed attempt took
    seconds: float | None = None
    #: where and why the last load failed, while ``error`` is set
    failure: Failure | None = None
    #: a digest of the serving version's files and config section
    digest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "version": self.version,
            "loaded_at": self.loaded_at,
            "error": self.error,
            "load_ms": round(self.seconds * 1000, 2) if self.seconds is not None else None,
            "failure": self.failure.as_dict() if self.failure is not None else None,
            "digest": self.digest,
        }


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The outcome of loading (or reloading) one plugin: a value, never an exception."""

    name: str
    ok: bool
    error: PlughostError | None = None
    seconds: float = 0.0
