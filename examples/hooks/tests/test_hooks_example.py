"""Tests for the hooks example, served from its own plughost.toml on loopback."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from plughost.testing import ClientFactory, host_of

CONFIG = Path(__file__).resolve().parents[1] / "plughost.toml"


# --8<-- [start:variant]
def variant(tmp_path: Path, plugins: dict[str, dict[str, Any]]) -> Path:
    """The example's config with some ``[plugins.NAME]`` values changed, same plugins folder."""
    document = tomlkit.parse(CONFIG.read_text(encoding="utf-8"))
    document["server"]["plugins_dir"] = str(CONFIG.parent / "plugins")
    for name, values in plugins.items():
        document["plugins"][name].update(values)
    path = tmp_path / "plughost.toml"
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path
    # --8<-- [end:variant]


async def test_input_is_normalised_and_output_pretty(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/hello", params={"name": "  Ann "})
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.text() == '{\n  "hello": "Ann"\n}\n'
    # An empty value is dropped, so the endpoint's default applies.
    resp = await client.get("/hello", params={"name": " "})
    assert await resp.json() == {"hello": "world"}


async def test_browsers_get_html(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/hello", params={"name": "<b>"}, headers={"Accept": "text/html"})
    assert resp.content_type == "text/html"
    assert await resp.text() == (
        "<table><tr><th>hello</th><td>&quot;&lt;b&gt;&quot;</td></tr></table>\n"
    )


async def test_every_response_is_timed_and_counted(plughost_client: ClientFactory) -> None:
    client = await plughost_client(CONFIG)
    resp = await client.get("/hello")
    assert resp.headers["Server-Timing"].startswith("app;dur=")
    await client.get("/divide", params={"a": "x", "b": "1"})
    resp = await client.get("/stats")
    assert (await resp.json())["requests"] == {"200": 1, "400": 1}


async def test_errors_are_logged_and_mapped(
    plughost_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await plughost_client(CONFIG)
    caplog.set_level(logging.INFO, logger="examples.hooks.errors")
    resp = await client.get("/divide", params={"a": "1", "b": "4"})
    assert await resp.json() == {"result": 0.25}
    resp = await client.get("/divide", params={"a": "one", "b": "4"})
    assert resp.status == 400
    assert await resp.json() == {"error": "a and b must be numbers", "status": 400}
    resp = await client.get("/divide", params={"a": "1", "b": "0"})
    assert resp.status == 500
    assert await resp.json() == {"error": "Internal Server Error", "status": 500}
    # A missing argument is the host's own 400; process_error sees it too.
    resp = await client.get("/divide", params={"a": "1"})
    assert resp.status == 400
    records = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == "examples.hooks.errors"
    ]
    assert records == [
        ("INFO", "GET /divide?a=one&b=4 failed: BadRequest: a and b must be numbers"),
        ("WARNING", "GET /divide?a=1&b=0 failed: ZeroDivisionError: float division by zero"),
        ("INFO", "GET /divide?a=1 failed: BadRequest: missing required argument 'b'"),
    ]


# --8<-- [start:access]
@pytest.mark.parametrize("plugin", ["local_only", "local_only_object"])
async def test_access_control_admits_listed_clients_only(
    plughost_client: ClientFactory, tmp_path: Path, plugin: str
) -> None:
    others = {"local_only": {"enabled": False}, "local_only_object": {"enabled": False}}
    # The test client connects from 127.0.0.1: first on the list, then not.
    allowed = variant(tmp_path, {**others, plugin: {"enabled": True}})
    client = await plughost_client(allowed)
    assert host_of(client).status()[plugin].state == "loaded"
    assert (await client.get("/hello")).status == 200

    refused = variant(
        tmp_path, {**others, plugin: {"enabled": True, "params": {"allow": ["192.0.2.7"]}}}
    )
    client = await plughost_client(refused)
    resp = await client.get("/hello")
    assert resp.status == 403
    assert await resp.json() == {"error": "this service answers local clients only", "status": 403}
    # --8<-- [end:access]
