"""Installs the SQLite plugin for every route in the host."""

from dataclasses import dataclass

from ._sqlite import SQLitePlugin

SCHEMA = """
CREATE TABLE IF NOT EXISTS todos (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL DEFAULT 1,
    done INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass
class Params:
    dbfile: str = ":memory:"


def setup(host):
    # Owned by this plugin: uninstalled, and closed, when the plugin leaves.
    host.install(SQLitePlugin(host.params.dbfile, schema=SCHEMA, root=host.config.root))
