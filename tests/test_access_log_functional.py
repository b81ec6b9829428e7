"""API keys never reach the access log, however the query spells the key's name."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import unquote

import pytest

OPEN = """
import plughost

@plughost.route("/secret", auth="global")
async def secret():
    return {"ok": True}
"""

KEY = "s3cret-KEY"


async def raw_get(client: Any, target: str) -> int:
    """GET ``target`` byte for byte (an HTTP client would normalise its escapes)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    return int(response.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "query",
    [
        f"apikey={KEY}",
        f"api%6Bey={KEY}",
        f"%61pikey={KEY}",
        f"%61%70%69%6b%65%79={KEY}",
        f"x=1&apikey={KEY}&y=2",
        f"APIKEY={KEY}",
        f"apikey={KEY.replace('K', '%4B')}",
        "apikey=" + "".join(f"%{b:02X}" for b in KEY.encode()),
    ],
)
@pytest.mark.parametrize("key_accepted", [True, False])
async def test_query_keys_are_redacted_in_the_access_log(
    plughost_project: Any,
    plughost_client: Any,
    caplog: pytest.LogCaptureFixture,
    query: str,
    key_accepted: bool,
) -> None:
    auth = f'[auth]\napikey = "{KEY}"\nallow_query_key = {"true" if key_accepted else "false"}\n'
    client = await plughost_client(plughost_project({"vault": OPEN}, config=auth))
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        status = await raw_get(client, f"/secret?{query}")
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert lines, "the request was logged"
    assert all("/secret?" in line for line in lines)
    for line in lines:
        for spelling in (KEY, KEY.replace("K", "%4B"), KEY.replace("K", "%4b"), "%73%33"):
            assert spelling not in line
    if key_accepted and unquote(query.split("=")[0]) == "apikey":
        assert status == 200


async def test_a_key_in_the_referer_is_redacted_in_the_access_log(
    plughost_project: Any, plughost_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = await plughost_client(plughost_project({"vault": OPEN}))
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        for referer in (f"https://app.example/?api%6Bey={KEY}", f"http://[bad/?apikey={KEY}"):
            await client.get("/secret", headers={"Referer": referer})
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 2
    assert "https://app.example/?apikey=%3Credacted%3E" in lines[0]
    assert all(KEY not in line for line in lines)
