"""The notes API. Each endpoint declares ``notes`` and gets the store from the db plugin.

The endpoints are ``async def``: the store is a quick local SQLite call, and an
async endpoint runs on the event loop, with no worker thread.
"""

from aiohttp import web

import plughost


def note_id(id):
    if not id.isdigit():
        raise plughost.BadRequest(f"note ids are numbers, not {id!r}")
    return int(id)


@plughost.route("/notes")
async def list_notes(notes):
    return notes.list()


@plughost.route("/notes", method="POST")
async def add_note(notes, title, body=""):
    # An aiohttp response passes through as it is: here, to answer 201.
    return web.json_response(notes.add(title, body), status=201)


@plughost.route("/notes/{id}")
async def get_note(notes, id):
    note = notes.get(note_id(id))
    if note is None:
        raise plughost.NotFound(f"no note {id}")
    return note


@plughost.route("/notes/{id}", method="DELETE")
async def delete_note(notes, id):
    if not notes.delete(note_id(id)):
        raise plughost.NotFound(f"no note {id}")
