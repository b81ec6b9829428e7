"""Tests for the wrappers example, served from its own plughost.toml on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from aiohttp.test_utils import TestClient

from plughost.request.routes import Route
from plughost.testing import ClientFactory, host_of

CONFIG = Path(__file__).resolve().parents[1] / "plughost.toml"


def variant(tmp_path: Path, plugins: dict[str, dict[str, Any]]) -> Path:
    """The example's config with some ``[plugins.NAME]`` values changed, same plugins folder."""
    document = tomlkit.parse(CONFIG.read_text(encoding="utf-8"))
    document["server"]["plugins_dir"] = str(CONFIG.parent / "plugins")
    for name, values in plugins.items():
        document["plugins"][name].update(values)
    path = tmp_path / "plughost.toml"
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path


def route_of(client: TestClient[Any, Any], method: str, rule: str) -> Route:
    return next(r for r in host_of(client).routes if (r.method, r.rule) == (method, rule))


async def test_todo_list(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.post("/todos", data={"title": "milk"})
    assert await resp.json() == {"id": 1, "title": "milk", "priority": 1, "done": False}
    resp = await client.post("/todos", json={"title": "bread", "priority": 2})
    assert (await resp.json())["id"] == 2
    resp = await client.post("/todos/1/done")
    assert (await resp.json())["done"] is True
    resp = await client.get("/todos", params={"done": "false"})
    assert [todo["title"] for todo in await resp.json()] == ["bread"]
    assert (await client.delete("/todos/2")).status == 204
    resp = await client.get("/todos/2")
    assert resp.status == 404
    assert await resp.json() == {"error": "no todo 2", "status": 404}
    assert [todo["title"] for todo in await (await client.get("/todos")).json()] == ["milk"]


async def test_a_failed_request_is_rolled_back(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    await client.post("/todos", data={"title": "milk"})
    resp = await client.post("/todos", data={"title": "milk"})
    assert resp.status == 409
    assert await resp.json() == {
        "error": "conflict: UNIQUE constraint failed: todos.title",
        "status": 409,
    }
    assert len(await (await client.get("/todos")).json()) == 1


async def test_route_config_turns_autocommit_off(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.post("/todos/preview", data={"title": "tea", "priority": "3"})
    assert await resp.json() == {"id": 1, "title": "tea", "priority": 3, "done": False}
    assert await (await client.get("/todos")).json() == []


async def test_inputs_are_checked_against_annotations(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/todos/one")
    assert resp.status == 400
    assert await resp.json() == {"error": "'id': expected int, got 'one'", "status": 400}
    resp = await client.post("/todos", json={"title": "x", "priority": "high"})
    assert (await resp.json())["error"] == "'priority': expected int, got 'high'"
    resp = await client.get("/todos", params={"done": "maybe"})
    assert (await resp.json())["error"] == "'done': expected bool, got 'maybe'"
    resp = await client.post("/todos", json={"title": True})
    assert (await resp.json())["error"] == "'title': expected str, got True"


async def test_wrappers_apply_only_where_they_should(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    # skip=["sqlite"]: the URL's `db` reaches the callback untouched.
    assert await (await client.get("/open/notes")).json() == {"db": "notes"}
    # /timing skips the timer, declares no `db` and has no annotations:
    # no wrapper applies, and the route calls the callback itself.
    report = route_of(client, "GET", "/timing")
    await client.get("/timing")
    assert report.call is report.callback
    names = [getattr(p, "name", None) for p in route_of(client, "GET", "/todos").all_plugins()]
    assert names == ["sqlite", "check", "timing"]  # innermost first


async def test_timing_counts_each_route(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    for _ in range(3):
        await client.get("/todos")
    await client.get("/open/x")
    stats = await (await client.get("/timing")).json()
    assert stats.keys() == {"GET /todos", "GET /open/{db}"}
    assert stats["GET /todos"]["calls"] == 3


async def test_setup_refuses_a_second_plugin_on_the_same_keyword(
    plughost_client: ClientFactory, tmp_path: Path
) -> None:
    client = await plughost_client(variant(tmp_path, {"second_db": {"enabled": True}}))
    status = host_of(client).status()
    assert status["second_db"].state == "error"
    assert "another plugin already injects 'db'" in (status["second_db"].error or "")
    # The refused plugin left nothing behind, and the first one still serves.
    assert (await client.post("/todos", data={"title": "milk"})).status == 200
    assert not (tmp_path / "other.db").exists()


async def test_a_file_database_lives_beside_the_config(
    plughost_client: ClientFactory, tmp_path: Path
) -> None:
    config = variant(tmp_path, {"db": {"params": {"dbfile": "todo.db"}}})
    client = await plughost_client(config)
    assert (await client.post("/todos", data={"title": "milk"})).status == 200
    assert (tmp_path / "todo.db").exists()
    await host_of(client).close()  # closes the plugin, and so its connection
    client = await plughost_client(config)
    assert [t["title"] for t in await (await client.get("/todos")).json()] == ["milk"]
