"""A client that sends its body slowly is cut off at ``[server] body_timeout``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from plughost.testing import ClientFactory, ProjectFactory

ECHO = """
import plughost

@plughost.route("/echo", method="POST")
async def echo(**kwargs):
    return {"keys": sorted(kwargs)}

@plughost.route("/raw", method="POST")
async def raw(request):
    return {"size": len(await request.read())}

@plughost.route("/ignores", method="POST")
async def ignores():
    return {"ok": True}
"""


async def _slow_post(client: Any, path: str, content_type: str, *, send_for: float) -> bytes:
    """Promise 1000 body bytes, send one every 0.1 s for ``send_for`` s, then stall.

    Returns what the server answered before closing the connection; a reset (the
    server closed with bytes of ours unread) counts as closing with no answer.
    """
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Content-Length: 1000\r\n\r\n".encode()
    )

    async def send() -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + send_for
        while loop.time() < deadline:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.1)

    sender = asyncio.create_task(send())
    try:
        async with asyncio.timeout(30):
            return await reader.read()  # until the server closes the connection
    except ConnectionResetError:
        return b""
    finally:
        sender.cancel()
        writer.close()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/echo", "application/json"),
        ("/echo", "application/x-www-form-urlencoded"),
        ("/echo", "multipart/form-data; boundary=B"),
        ("/raw", "application/octet-stream"),
    ],
)
async def test_a_trickled_body_is_a_408_and_the_connection_closes(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    path: str,
    content_type: str,
) -> None:
    project = plughost_project({"echo": ECHO}, config="[server]\nbody_timeout = 0.5\n")
    client = await plughost_client(project)
    with caplog.at_level(logging.DEBUG):
        stalled = await _slow_post(client, path, content_type, send_for=0.2)
        trickled = await _slow_post(client, path, content_type, send_for=30)
    assert stalled.startswith(b"HTTP/1.1 408 "), stalled[:200]
    assert b"did not arrive within 0.5 s" in stalled
    # Still sending when cut off: closed, with the 408 if the reset did not overtake it.
    assert trickled == b"" or trickled.startswith(b"HTTP/1.1 408 ")
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]
    # The server still answers others.
    assert (await client.post("/echo", json={"a": 1})).status == 200


async def test_a_handler_that_ignores_the_body_is_not_cut(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"echo": ECHO}, config="[server]\nbody_timeout = 0.5\n")
    client = await plughost_client(project)
    resp = await client.post("/ignores", data=b"x" * 10)
    assert resp.status == 200


async def test_a_whole_body_within_the_timeout_is_served(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"echo": ECHO}, config="[server]\nbody_timeout = 5\n")
    client = await plughost_client(project)

    async def body() -> Any:
        for _ in range(3):
            yield b"x" * 10
            await asyncio.sleep(0.05)

    resp = await client.post("/raw", data=body())
    assert await resp.json() == {"size": 30}
