"""Tests for the mixed example, served from its own plughost.toml on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from plughost.testing import ClientFactory, host_of

CONFIG = Path(__file__).resolve().parents[1] / "plughost.toml"
KEY = {"X-API-Key": "dev-key"}
ORIGIN = "http://localhost:5173"


@pytest.fixture(autouse=True)
def apikey(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_APIKEY", "dev-key")


async def test_anyone_reads_writers_need_the_key(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    assert await (await client.get("/notes")).json() == []
    resp = await client.post("/notes", json={"title": "hi"})
    assert resp.status == 401
    assert await resp.json() == {"error": "writing needs the API key", "status": 401}
    resp = await client.post("/notes", json={"title": "hi"}, headers={"X-API-Key": "nope"})
    assert resp.status == 401
    resp = await client.post("/notes", json={"title": "hi", "body": "there"}, headers=KEY)
    assert resp.status == 201
    note = await resp.json()
    assert (note["id"], note["title"], note["body"]) == (1, "hi", "there")
    assert await (await client.get("/notes/1")).json() == note
    bearer = {"Authorization": "Bearer dev-key"}
    assert (await client.delete("/notes/1", headers=bearer)).status == 204
    assert (await client.get("/notes/1")).status == 404
    assert (await client.get("/notes/x")).status == 400


async def test_export_needs_the_global_key(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    await client.post("/notes", data={"title": "a"}, headers=KEY)
    await client.post("/notes", data={"title": "b"}, headers=KEY)
    assert (await client.get("/export")).status == 401
    resp = await client.get("/export", headers=KEY)
    export = await resp.json()
    assert export["count"] == 2
    assert [n["title"] for n in export["notes"]] == ["a", "b"]


async def test_no_key_configured_refuses_every_write(
    plughost_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOTES_APIKEY")
    client = await plughost_client(CONFIG)
    assert (await client.post("/notes", data={"title": "a"}, headers=KEY)).status == 401
    assert (await client.get("/export", headers=KEY)).status == 401
    assert (await client.get("/notes")).status == 200


async def test_cors_for_the_browser_app(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/notes", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Vary"] == "Origin"
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "X-API-Key",
    }
    resp = await client.options("/notes/1", headers=preflight)
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Methods"] == "GET, POST, DELETE"
    assert resp.headers["Access-Control-Allow-Headers"] == "Content-Type, X-API-Key"
    assert resp.headers["Access-Control-Max-Age"] == "600"
    # Any other origin gets no CORS headers, and its preflight is refused.
    resp = await client.get("/notes", headers={"Origin": "http://localhost:5173.evil.test"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.options("/notes/1", headers={**preflight, "Origin": "https://evil.test"})
    assert resp.status == 403


async def test_every_model_is_in_play(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    kinds = {name: version.kind for name, version in host_of(client).versions.items()}
    assert kinds == {"guard": "hooks", "db": "wrapper", "notes": "endpoint", "export": "endpoint"}
