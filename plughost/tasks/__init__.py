"""Background tasks and the stores their results live in.

``runner`` runs a process's tasks; ``records`` defines the store interface and
the memory store; ``sqlite`` and ``redisdb`` are the shared stores; ``open``
picks one from the config.
"""

from __future__ import annotations

from .info import TaskInfo as TaskInfo
from .info import TaskState as TaskState
from .open import open_records as open_records
from .records import MemoryRecords as MemoryRecords
from .records import SyncRecords as SyncRecords
from .records import TaskRecords as TaskRecords
from .runner import TaskGroup as TaskGroup
from .runner import TaskStore as TaskStore

__all__ = [
    "MemoryRecords",
    "SyncRecords",
    "TaskGroup",
    "TaskInfo",
    "TaskRecords",
    "TaskState",
    "TaskStore",
    "open_records",
]
