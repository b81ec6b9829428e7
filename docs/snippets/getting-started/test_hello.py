"""Tests for the hello plugin; run them with ``python -m pytest``."""

from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "plughost.toml"


async def test_hello_answers(plughost_client):
    client = await plughost_client(CONFIG)
    resp = await client.get("/hello")
    assert resp.status == 200
    assert (await resp.json())["message"] == "Hello from hello"
