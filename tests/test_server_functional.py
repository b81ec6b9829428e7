"""The server around the plugins: CORS preflights, hooks behind decorators, fatal plugin code."""

import asyncio
import sys
from typing import Any

from plughost.testing import (
    ClientFactory,
    Project,
    ProjectFactory,
    host_of,
    reloader_of,
    wait_for_load,
)

EP = """
import plughost

@plughost.route("/x")
async def x():
    return {"x": 1}
"""

CORS = '[cors]\nenabled = {enabled}\nallow_origins = ["https://a.example"]\n'


async def preflight(client: Any, origin: str) -> int:
    headers = {"Origin": origin, "Access-Control-Request-Method": "GET"}
    status: int = (await client.options("/x", headers=headers)).status
    return status


async def edit_config(client: Any, project: Project, text: str) -> None:
    done = reloader_of(client).batch_done
    project.config_path.write_text(text)
    async with asyncio.timeout(10):
        await done.wait()


async def test_cors_edits_reach_preflights(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"ep": EP}, config=CORS.format(enabled="false"))
    client = await plughost_client(project, reload=True)
    assert await preflight(client, "https://a.example") == 405
    text = project.config_path.read_text()
    await edit_config(client, project, text.replace("enabled = false", "enabled = true", 1))
    assert await preflight(client, "https://a.example") == 204
    text = project.config_path.read_text()
    await edit_config(client, project, text.replace("https://a.example", "https://b.example"))
    assert await preflight(client, "https://a.example") == 403
    assert await preflight(client, "https://b.example") == 204
    text = project.config_path.read_text()
    await edit_config(client, project, text.replace("enabled = true", "enabled = false", 1))
    assert await preflight(client, "https://b.example") == 405


DECORATED_HOOK = """
import functools
from plughost import AccessDenied

def logged(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)
    return wrapper

@logged
async def check_access(context):
    raise AccessDenied("nobody")
"""


async def test_async_hook_behind_a_sync_decorator_is_awaited(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"ep": EP, "guard": DECORATED_HOOK})
    client = await plughost_client(project)
    assert (await client.get("/x")).status == 403


ARGPARSE = """
import argparse
argparse.ArgumentParser().parse_args()
"""

SETUP_EXIT = """
import sys

def setup(host):
    sys.exit(3)
"""


async def test_system_exit_in_a_plugin_fails_only_that_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sys, "argv", ["plughost", "run", "--reload"])
    project: Project = plughost_project({"ep": EP, "cli": ARGPARSE, "quits": SETUP_EXIT})
    client = await plughost_client(project, reload=True)
    assert (await client.get("/x")).status == 200
    status = host_of(client).status()
    assert "SystemExit" in (status["cli"].error or "")
    assert "SystemExit" in (status["quits"].error or "")
    waiter = asyncio.create_task(wait_for_load(host_of(client), "cli"))
    await asyncio.sleep(0)
    (project.plugins_dir / "cli.py").write_text(ARGPARSE + "\n# edited\n")
    assert not (await waiter).ok
    assert (await client.get("/x")).status == 200


async def test_bad_route_path_is_a_config_error(
    plughost_project: ProjectFactory, tmp_path: Any
) -> None:
    from plughost.config import load_config
    from plughost.errors import ConfigError

    project: Project = plughost_project({"ep": EP})
    text = project.config_path.read_text().replace(
        "enabled = true", 'enabled = true\nroute_path = "a{b"'
    )
    project.config_path.write_text(text)
    try:
        load_config(project.config_path)
    except ConfigError as error:
        assert "plugins.ep.route_path: 'a{b' is not a plain URL path" in str(error)
    else:
        raise AssertionError("a route_path with braces was accepted")


EXAMPLE = """
from plughost import BasePlugin

class Example(BasePlugin):
    def request_handler(self, **args):
        return {"example": "Hi from Example.py"}
"""


async def test_hostile_inputs_are_400s(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"example": EXAMPLE})
    client = await plughost_client(project)
    resp = await client.get("/example", params={"self": "1"})
    assert resp.status == 400
    assert "'self'" in (await resp.json())["error"]
    resp = await client.post(
        "/example", data=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}
    )
    assert resp.status == 400
    assert "malformed form body" in (await resp.json())["error"]
    assert (await client.get("/example")).status == 200
