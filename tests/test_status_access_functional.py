"""Who may read ``/_plughost/status``: a policy a security reviewer can sign."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from plughost.request.status import REFUSED, is_local_request
from plughost.testing import ClientFactory, ProjectFactory

HELLO = """
import plughost

@plughost.route("/hello")
async def hello():
    return {"hello": 1}
"""

KEY = "the-key"


async def _status(client: Any, headers: dict[str, str] | None = None) -> int:
    resp = await client.get("/_plughost/status", headers=headers or {})
    body = await resp.json()
    if resp.status == 403:
        assert body["error"] == REFUSED
        assert "config" not in body
    return int(resp.status)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 200),
        ({"Host": "localhost:8080"}, 200),
        ({"Host": "127.0.0.1"}, 200),
        ({"Host": "[::1]:8080"}, 200),
        ({"Host": "127.0.0.2:80"}, 200),
        ({"Host": "evil.example"}, 403),
        ({"Host": "evil.example:8080"}, 403),
        ({"Host": "localhost.evil.example"}, 403),
        ({"Host": "10.0.0.1"}, 403),
        ({"X-Forwarded-For": "203.0.113.9"}, 403),
        ({"Forwarded": "for=203.0.113.9"}, 403),
        ({"X-Real-IP": "203.0.113.9"}, 403),
        ({"Host": "evil.example", "X-API-Key": KEY}, 200),
        ({"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {KEY}"}, 200),
        ({"X-Forwarded-For": "203.0.113.9", "X-API-Key": "wrong"}, 403),
    ],
)
async def test_loopback_policy(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    headers: dict[str, str],
    status: int,
) -> None:
    project = plughost_project({"hello": HELLO}, config=f'[auth]\napikey = "{KEY}"\n')
    client = await plughost_client(project)
    assert await _status(client, headers) == status


async def test_a_query_key_never_opens_the_status(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    config = f'[auth]\napikey = "{KEY}"\nallow_query_key = true\n'
    client = await plughost_client(plughost_project({"hello": HELLO}, config=config))
    resp = await client.get(
        "/_plughost/status", params={"apikey": KEY}, headers={"Host": "evil.example"}
    )
    assert resp.status == 403


@pytest.mark.parametrize(
    ("mode", "plain", "with_key"), [("loopback", 200, 200), ("key", 403, 200), ("off", 403, 403)]
)
async def test_the_server_setting(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    mode: str,
    plain: int,
    with_key: int,
) -> None:
    config = f'[server]\nstatus = "{mode}"\n\n[auth]\napikey = "{KEY}"\n'
    client = await plughost_client(plughost_project({"hello": HELLO}, config=config))
    assert await _status(client) == plain
    assert await _status(client, {"X-API-Key": KEY}) == with_key


async def test_a_client_on_127_0_0_2_is_loopback_too(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"hello": HELLO}))
    url = str(client.make_url("/_plughost/status"))
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(url) as resp:
                assert resp.status == 200
    except OSError as error:  # pragma: no cover - a system without 127.0.0.2
        pytest.skip(f"cannot connect from 127.0.0.2: {error}")


@pytest.mark.parametrize(
    ("peer", "host", "headers", "local"),
    [
        ("127.0.0.1", "127.0.0.1:8080", {}, True),
        ("127.5.6.7", "localhost", {}, True),
        ("::1", "[::1]:8080", {}, True),
        ("::ffff:127.0.0.1", "localhost:1", {}, True),
        # A client on another machine is refused, whatever Host it names.
        ("192.0.2.7", "127.0.0.1:8080", {}, False),
        ("10.1.2.3", "localhost", {}, False),
        ("2001:db8::1", "[::1]:8080", {}, False),
        ("::ffff:192.0.2.7", "localhost", {}, False),
        (None, "localhost", {}, False),
        ("127.0.0.1", "", {}, False),
        ("127.0.0.1", "::1:8080", {}, False),
        ("127.0.0.1", "localhost", {"X-Forwarded-Host": "x"}, False),
    ],
)
def test_what_counts_as_a_local_request(
    peer: str | None, host: str, headers: dict[str, str], local: bool
) -> None:
    assert is_local_request(peer, host, headers) is local


def test_a_bad_status_setting_is_a_config_error(plughost_project: ProjectFactory) -> None:
    from plughost.config import load_config
    from plughost.errors import ConfigError

    project = plughost_project({"hello": HELLO}, config='[server]\nstatus = "public"\n')
    with pytest.raises(ConfigError, match="server.status: expected one of"):
        load_config(project.config_path)
