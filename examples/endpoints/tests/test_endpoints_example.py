"""Tests for the endpoints example, served from its own plughost.toml on loopback."""

# --8<-- [start:setup]
from __future__ import annotations

import asyncio
from pathlib import Path

from plughost.testing import ClientFactory, ProjectFactory, host_of, wait_for_load

CONFIG = Path(__file__).resolve().parents[1] / "plughost.toml"
PLUGINS = CONFIG.parent / "plugins"
KEY = {"X-API-Key": "greeting-key"}
# --8<-- [end:setup]


async def test_example_answers_get_and_post(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/example")
    assert resp.status == 200
    assert await resp.json() == {"example": "Hi from Example.py"}
    resp = await client.post("/example", data={"anything": "at all"})
    assert await resp.json() == {"example": "Hi from Example.py"}


async def test_greeting_uses_its_params_and_headers(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/greet", params={"name": "Ann"}, headers={**KEY, "User-Agent": "t"})
    assert await resp.json() == {"greeting": "Howdy, Ann!", "user_agent": "t"}
    # POST bodies reach request_handler too, as JSON or as a form.
    resp = await client.post("/greet", json={"name": "Bo"}, headers=KEY)
    assert (await resp.json())["greeting"] == "Howdy, Bo!"
    resp = await client.post("/greet", data={"name": "Cy"}, headers=KEY)
    assert (await resp.json())["greeting"] == "Howdy, Cy!"


# --8<-- [start:auth]
async def test_greeting_needs_its_own_key(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    assert (await client.get("/greet")).status == 401
    assert (await client.get("/greet", headers={"X-API-Key": "wrong"})).status == 401
    bearer = {"Authorization": "Bearer greeting-key"}
    assert (await client.get("/greet", headers=bearer)).status == 200
    # plugincore's way: the key as an `apikey` argument in a POST body.
    resp = await client.post("/greet", data={"apikey": "greeting-key", "name": "Di"})
    assert (await resp.json())["greeting"] == "Howdy, Di!"
    # The route_path from the config replaces the class attribute.
    assert (await client.get("/greeting", headers=KEY)).status == 404
    # --8<-- [end:auth]


async def test_sysinfo_task_is_read_by_a_later_request(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/sysinfo")
    assert resp.status == 200
    task = (await resp.json())["task"]
    async with asyncio.timeout(10):
        while True:
            info = await (await client.get("/sysinfo", params={"task": task})).json()
            if info["state"] not in ("pending", "running"):
                break
            await asyncio.sleep(0.05)
    assert info["state"] == "done", info
    assert info["result"]["seconds"] >= 0.5
    assert isinstance(info["result"]["interfaces"], dict)
    assert info["finished_at"] >= info["started_at"]


async def test_sysinfo_unknown_task_is_404(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/sysinfo", params={"task": "nope"})
    assert resp.status == 404
    assert await resp.json() == {"error": "no task 'nope'", "status": 404}


# --8<-- [start:reload]
async def test_an_edit_is_served_without_a_restart(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    source = (PLUGINS / "example.py").read_text(encoding="utf-8")
    project = plughost_project({"example": source})  # a copy, in a temporary folder
    client = await plughost_client(project, reload=True)
    assert await (await client.get("/example")).json() == {"example": "Hi from Example.py"}

    # Start waiting before the edit, so the reload cannot be missed.
    reloaded = asyncio.create_task(wait_for_load(host_of(client), "example"))
    await asyncio.sleep(0)
    project.write_plugin("example", source.replace("Hi from", "Hello from"))
    assert (await reloaded).ok
    assert await (await client.get("/example")).json() == {"example": "Hello from Example.py"}
    # --8<-- [end:reload]
