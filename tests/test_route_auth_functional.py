"""API-key checks for route plugins: ``@plughost.route(..., auth="global")``."""

from plughost.testing import ClientFactory, ProjectFactory, host_of

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


async def test_route_auth(plughost_project: ProjectFactory, plughost_client: ClientFactory) -> None:
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
    plughost_project: ProjectFactory, plughost_client: ClientFactory
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


BODY_KEY = """
import plughost

@plughost.route("/notes", method="POST", auth="global")
async def notes(**kwargs):
    return {"keys": sorted(k for k in kwargs if k != "request_headers")}
"""


async def test_route_auth_accepts_a_body_key_and_consumes_it(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"notes": BODY_KEY}, config='[auth]\napikey = "k"\n')
    client = await plughost_client(project)
    assert (await client.post("/notes", json={"a": 1, "apikey": "nope"})).status == 401
    resp = await client.post("/notes", json={"a": 1, "apikey": "k"})
    assert await resp.json() == {"keys": ["a"]}
    resp = await client.post("/notes", json={"a": 1, "apikey": "x"}, headers={"X-API-Key": "k"})
    assert await resp.json() == {"keys": ["a"]}


async def test_unknown_auth_mode_is_a_load_error(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    typo = 'import plughost\n\n@plughost.route("/x", auth="globl")\nasync def x():\n    return 1\n'
    project = plughost_project({"typo": typo})
    client = await plughost_client(project)
    status = host_of(client).status()["typo"]
    assert "auth='globl'" in (status.error or "")
    resp = await client.get("/typo")
    assert resp.status == 503
