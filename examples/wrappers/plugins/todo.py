"""A todo list. Endpoints that declare ``db`` get a connection from the SQLite plugin."""

import sqlite3

import plughost


def as_dict(row):
    return {**dict(row), "done": bool(row["done"])}


@plughost.route("/todos")
def list_todos(db: sqlite3.Connection, done: bool | None = None):
    if done is None:
        rows = db.execute("SELECT * FROM todos ORDER BY id")
    else:
        rows = db.execute("SELECT * FROM todos WHERE done = ? ORDER BY id", (done,))
    return [as_dict(row) for row in rows]


@plughost.route("/todos", method="POST")
def add_todo(db: sqlite3.Connection, title: str, priority: int = 1):
    cursor = db.execute("INSERT INTO todos (title, priority) VALUES (?, ?)", (title, priority))
    return get_todo(db, cursor.lastrowid)


# Per-route config for the SQLite plugin: this route's changes are rolled back.
@plughost.route("/todos/preview", method="POST", sqlite={"autocommit": False})
def preview_todo(db: sqlite3.Connection, title: str, priority: int = 1):
    return add_todo(db, title, priority)


@plughost.route("/todos/{id}")
def get_todo(db: sqlite3.Connection, id: int):
    row = db.execute("SELECT * FROM todos WHERE id = ?", (id,)).fetchone()
    if row is None:
        raise plughost.NotFound(f"no todo {id}")
    return as_dict(row)


@plughost.route("/todos/{id}/done", method="POST")
def finish_todo(db: sqlite3.Connection, id: int):
    db.execute("UPDATE todos SET done = 1 WHERE id = ?", (id,))
    return get_todo(db, id)


@plughost.route("/todos/{id}", method="DELETE")
def delete_todo(db: sqlite3.Connection, id: int):
    if db.execute("DELETE FROM todos WHERE id = ?", (id,)).rowcount == 0:
        raise plughost.NotFound(f"no todo {id}")


# Bottle's skip example: here `db` is part of the URL, not a connection.
@plughost.route("/open/{db}", skip=["sqlite"])
def open_db(db: str):
    return {"db": db}
