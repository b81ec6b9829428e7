"""The host's own pages (/_plughost/...) stay on this machine's side of the browser."""

from __future__ import annotations

import pytest

from plughost.testing import ClientFactory, ProjectFactory

HELLO = """
import plughost

@plughost.route("/hello")
async def hello():
    return {"hello": "world"}
"""

EVERY_ORIGIN = '[auth]\napikey = "k"\n\n[cors]\nenabled = true\nallow_origins = ["*"]\n'


@pytest.mark.parametrize("path", ["/_plughost/status", "/_plughost/", "/_plughost/reload"])
async def test_cors_never_shares_the_host_pages(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, path: str
) -> None:
    client = await plughost_client(plughost_project({"hello": HELLO}, config=EVERY_ORIGIN))
    origin = {"Origin": "https://evil.example"}
    # A plugin's route is shared with every origin, as configured...
    resp = await client.get("/hello", headers=origin)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    # ...the host's own pages are not, and their preflights are refused.
    resp = await client.get(path, headers=origin)
    assert "Access-Control-Allow-Origin" not in resp.headers
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    resp = await client.options(path, headers={**preflight, "Access-Control-Request-Headers": "x"})
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_the_api_key_reads_the_status_but_never_reloads(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"hello": HELLO}, config=EVERY_ORIGIN))
    remote = {"Host": "api.example.com", "X-API-Key": "k"}
    assert (await client.get("/_plughost/status", headers=remote)).status == 200
    resp = await client.post("/_plughost/reload", headers={**remote, "X-Plughost-Reload": "1"})
    assert resp.status == 403
    assert "this machine" in (await resp.json())["error"]
    resp = await client.post("/_plughost/reload", headers={"X-Plughost-Reload": "1"})
    assert resp.status == 200
