"""Tasks in an embedded SQLite database: shared by the workers of one machine.

Standard-library ``sqlite3`` in WAL mode, so one worker reads while another
writes. Each query is local and short, so the store answers synchronously,
even on the event loop.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Final

from .info import TaskInfo
from .records import SyncRecords

__all__ = ["SQLiteRecords"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS tasks (
    plugin TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    finished INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (plugin, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_by_expiry ON tasks (expires_at);
CREATE INDEX IF NOT EXISTS tasks_by_plugin ON tasks (plugin, created_at);
"""
_SAVE: Final = """
INSERT INTO tasks (plugin, id, body, created_at, finished, expires_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (plugin, id) DO UPDATE SET
    body = excluded.body, finished = excluded.finished, expires_at = excluded.expires_at
"""
# The finished tasks of one plugin beyond the newest ``max_results``.
_EVICT: Final = """
DELETE FROM tasks WHERE plugin = ? AND finished = 1 AND id NOT IN (
    SELECT id FROM tasks WHERE plugin = ? AND finished = 1 ORDER BY created_at DESC LIMIT ?
)
"""


class SQLiteRecords(SyncRecords):
    """Tasks in the SQLite database at ``path`` (created with its folder when missing)."""

    name = "SQLite"

    def __init__(self, path: Path, *, max_results: int = 100, ttl: float = 86400.0) -> None:
        super().__init__(max_results=max_results, ttl=ttl)
        self.path: Final = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per process, used from the loop and from sync handlers' threads.
        self._connection = sqlite3.connect(
            path, timeout=10.0, check_same_thread=False, isolation_level=None
        )
        self._lock = threading.Lock()
        with self._lock:
            self._connection.execute("PRAGMA busy_timeout = 10000")
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA synchronous = NORMAL")
            self._connection.executescript(_SCHEMA)

    def save_now(self, info: TaskInfo) -> None:
        now = time.time()
        finished = info.finished_at is not None
        row = (info.plugin, info.id, info.to_json(), info.created_at, finished, now + self.ttl)
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(_SAVE, row)
                if finished:
                    connection.execute("DELETE FROM tasks WHERE expires_at <= ?", (now,))
                    connection.execute(_EVICT, (info.plugin, info.plugin, self.max_results))
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def load_now(self, plugin: str, task_id: str) -> TaskInfo | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT body FROM tasks WHERE plugin = ? AND id = ? AND expires_at > ?",
                (plugin, task_id, time.time()),
            ).fetchone()
        return TaskInfo.from_json(row[0]) if row is not None else None

    def load_all_now(self, plugin: str) -> list[TaskInfo]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT body FROM tasks WHERE plugin = ? AND expires_at > ? ORDER BY created_at",
                (plugin, time.time()),
            ).fetchall()
        return [TaskInfo.from_json(body) for (body,) in rows]

    async def aclose(self) -> None:
        with self._lock:
            self._connection.close()
