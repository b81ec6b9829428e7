"""A Bottle-style SQLite plugin: a connection for every callback that declares ``db``.

It follows the SQLitePlugin of Bottle's plugin guide: ``setup`` refuses a
second plugin on the same keyword, ``apply`` wraps only callbacks that name
the keyword, route config (``@plughost.route(..., sqlite={...})``) overrides
the defaults per route, and each request is committed, or rolled back when it
raises. This file starts with ``_``: a helper module the plugins import, not a
plugin itself.
"""

import asyncio
import inspect
import sqlite3
from pathlib import Path

import plughost


class SQLitePlugin:
    name = "sqlite"
    api = 2

    def __init__(self, dbfile=":memory:", *, keyword="db", autocommit=True, schema="", root="."):
        self.dbfile = dbfile
        self.keyword = keyword
        self.autocommit = autocommit
        self.schema = schema
        self.root = Path(root)
        self.connections = {}
        # One request at a time per connection, so transactions never interleave.
        self.lock = asyncio.Lock()

    def setup(self, host):
        for other in host.plugins:
            if other is not self and getattr(other, "keyword", None) == self.keyword:
                raise plughost.PluginError(
                    f"another plugin already injects {self.keyword!r}",
                    hint="give this SQLitePlugin another keyword",
                )

    def apply(self, callback, route):
        config = {**route.config.get("sqlite", {})}
        keyword = config.get("keyword", self.keyword)
        if keyword not in inspect.signature(route.callback).parameters:
            return callback  # not wrapped: this route pays nothing for the plugin
        dbfile = config.get("dbfile", self.dbfile)
        autocommit = config.get("autocommit", self.autocommit)

        async def wrapper(**kwargs):
            async with self.lock:
                db = self.connect(dbfile)
                kwargs[keyword] = db
                try:
                    result = await callback(**kwargs)
                except sqlite3.IntegrityError as error:
                    db.rollback()
                    raise plughost.HTTPError(409, f"conflict: {error}") from None
                except BaseException:
                    db.rollback()
                    raise
                if autocommit:
                    db.commit()
                else:
                    db.rollback()
                return result

        return wrapper

    def connect(self, dbfile):
        db = self.connections.get(dbfile)
        if db is None:
            path = dbfile if dbfile == ":memory:" else str(self.root / dbfile)
            # A `def` endpoint runs in a worker thread, so the connection is
            # used from more than one thread (never at once: see the lock).
            db = sqlite3.connect(path, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.executescript(self.schema)
            self.connections[dbfile] = db
        return db

    def close(self):
        for db in self.connections.values():
            db.close()
        self.connections.clear()
