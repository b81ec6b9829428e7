"""Choose the task store a config asks for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from .records import MemoryRecords, TaskRecords

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["STATE_DIR", "open_records", "store_kind"]

#: the project's state folder, beside plughost.toml
STATE_DIR: Final = ".plughost"


def store_kind(config: Config) -> str:
    """``memory``, ``sqlite`` or ``redis``: what ``[tasks] store`` resolves to.

    ``auto`` (the default) is memory for one process and SQLite for several workers.
    """
    store = config.tasks.store
    if store == "auto":
        return "sqlite" if config.server.workers > 1 else "memory"
    if store.startswith(("redis://", "rediss://", "unix://")):
        return "redis"
    return store


def sqlite_path(config: Config) -> Path:
    return config.root / STATE_DIR / "tasks.sqlite3"


def open_records(config: Config) -> TaskRecords:
    """The store for ``config``'s ``[tasks]`` table.

    Raises:
        PlughostError: Redis is asked for and redis-py is not installed.
    """
    max_results, ttl = config.tasks.max_results, config.tasks.ttl
    kind = store_kind(config)
    if kind == "sqlite":
        from .sqlite import SQLiteRecords

        return SQLiteRecords(sqlite_path(config), max_results=max_results, ttl=ttl)
    if kind == "redis":
        try:
            from .redisdb import RedisRecords
        except ImportError as error:
            from ..errors import PlughostError

            raise PlughostError(
                f"[tasks] store = {config.tasks.store!r} needs redis-py: {error}",
                hint="pip install 'plughost[redis]'",
            ) from None
        return RedisRecords(config.tasks.store, max_results=max_results, ttl=ttl)
    return MemoryRecords(max_results=max_results, ttl=ttl)
