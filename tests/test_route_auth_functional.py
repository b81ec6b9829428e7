"""API-key checks for route plugins: ``@plughost.route(..., auth="global")``."""

from typing import Any

SECRET = """
import plughost

@plughost.route("/secret", auth="global")
async def secret():
    return {"secret": 42}

@plughost.route("/mine", auth="plugin")
async def mine():
    return {"mine": True}

@plughost.route("/open")
async def open_route():
    return {"open": True}
"""


async def test_route_auth(plughost_project: Any, plughost_client: Any) -> None:
    project = plughost_project(
        {"vault": SECRET},
        config='[auth]\napikey = "global-key"\n',
    )
    text = project.config_path.read_text()
    project.config_path.write_text(text.replace("enabled = true", 'enabled = true\napikey = "own"'))
    client = await plughost_client(project)
    assert (await client.get("/secret")).status == 401
    assert (await client.get("/secret", headers={"X-API-Key": "nope"})).status == 401
    resp = await client.get("/secret", headers={"Authorization": "Bearer global-key"})
    assert await resp.json() == {"secret": 42}
    assert (await client.get("/mine", headers={"X-API-Key": "global-key"})).status == 401
    assert (await client.get("/mine", headers={"X-API-Key": "own"})).status == 200
    assert (await client.get("/secret", params={"apikey": "global-key"})).status == 401
    assert (await client.get("/open")).status == 200


SKIPPING = """
import plughost

@plughost.route("/skip-all", auth="global", skip=True)
async def skip_all():
    return {"secret": 1}

@plughost.route("/skip-auth", auth="global", skip=["plughost.auth"])
async def skip_auth():
    return {"secret": 2}
"""


async def test_skip_never_removes_the_host_checks(
    plughost_project: Any, plughost_client: Any
) -> None:
    project = plughost_project(
        {"vault": SKIPPING},
        config='[auth]\napikey = "k"\n\n[cors]\nenabled = true\nallow_origins = ["https://a.example"]\n',
    )
    client = await plughost_client(project)
    for path in ("/skip-all", "/skip-auth"):
        assert (await client.get(path)).status == 401
        resp = await client.get(path, headers={"X-API-Key": "k", "Origin": "https://a.example"})
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == "https://a.example"
