"""What is known about one background task, and how it is written down."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["TaskInfo", "TaskState"]


class TaskState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class TaskInfo:
    """What is known about one background task."""

    id: str
    plugin: str
    state: TaskState = TaskState.PENDING
    result: Any = None
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    #: when the task was started (time.time()); orders a plugin's tasks
    created_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plugin": self.plugin,
            "state": self.state.value,
            "result": self.result,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    def to_json(self) -> str:
        """The task as JSON, for a store shared between processes.

        Raises:
            TypeError, ValueError: the result is not a JSON value.
        """
        return json.dumps({**self.as_dict(), "created_at": self.created_at})

    @classmethod
    def from_json(cls, text: str | bytes) -> TaskInfo:
        data = json.loads(text)
        return cls(
            id=data["id"],
            plugin=data["plugin"],
            state=TaskState(data["state"]),
            result=data["result"],
            error=data["error"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            created_at=data.get("created_at", 0.0),
        )
