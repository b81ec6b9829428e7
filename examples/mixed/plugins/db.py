"""The notes store, injected as ``notes`` into every endpoint that declares it."""

import inspect
import sqlite3
import time
from dataclasses import dataclass


@dataclass
class Params:
    dbfile: str = ":memory:"


class NotesStore:
    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.db.row_factory = sqlite3.Row
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS notes"
            " (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, created REAL)"
        )

    def list(self):
        return [dict(row) for row in self.db.execute("SELECT * FROM notes ORDER BY id")]

    def get(self, note_id):
        row = self.db.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
        return dict(row) if row else None

    def add(self, title, body):
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO notes (title, body, created) VALUES (?, ?, ?)",
                (title, body, time.time()),
            )
        return self.get(cursor.lastrowid)

    def delete(self, note_id):
        with self.db:
            return self.db.execute("DELETE FROM notes WHERE id = ?", (note_id,)).rowcount > 0

    def close(self):
        self.db.close()


class InjectStore:
    name = "notes_store"
    api = 2

    def __init__(self, store):
        self.store = store

    def apply(self, callback, route):
        if "notes" not in inspect.signature(route.callback).parameters:
            return callback
        store = self.store

        async def with_store(**kwargs):
            kwargs["notes"] = store
            return await callback(**kwargs)

        return with_store

    def close(self):
        # Runs once, when this plugin is disabled, reloaded or the server stops.
        self.store.close()


def setup(host):
    path = host.params.dbfile
    if path != ":memory:":
        path = str(host.config.root / path)
    host.install(InjectStore(NotesStore(path)))
