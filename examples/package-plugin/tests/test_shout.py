"""Tests for the installed shout plugin; run them with ``python -m pytest``."""


async def test_shout_answers(plughost_project, plughost_client):
    project = plughost_project(enabled=["shout"])
    client = await plughost_client(project)
    resp = await client.get("/shout", params={"text": "hi"})
    assert resp.status == 200
    assert await resp.json() == {"shout": "HI!"}


async def test_suffix_param(plughost_project, plughost_client):
    project = plughost_project(enabled=["shout"], params={"shout": {"suffix": "?!"}})
    client = await plughost_client(project)
    resp = await client.get("/shout", params={"text": "really"})
    assert await resp.json() == {"shout": "REALLY?!"}
