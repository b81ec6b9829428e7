"""A second SQLite plugin on the keyword ``db``: its setup() refuses the install."""

from ._sqlite import SQLitePlugin


def setup(host):
    host.install(SQLitePlugin("other.db"))
