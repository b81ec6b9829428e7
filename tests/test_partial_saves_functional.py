"""A plugin file caught mid-save never loads as a plugin that serves nothing."""

from __future__ import annotations

from typing import Any

from plughost.testing import ClientFactory


async def test_a_file_changing_while_it_loads_is_not_a_successful_load(
    plughost_project: Any, plughost_client: ClientFactory
) -> None:
    """A plugin whose file changes between read and run: the load fails, the old one serves."""
    from plughost.testing import host_of

    good = 'import plughost\n\n@plughost.route("/v")\nasync def v():\n    return {"v": 1}\n'
    project = plughost_project({"racy": good})
    client = await plughost_client(project)
    host = host_of(client)
    # This version rewrites its own file as it is imported, as an in-place save would.
    racy = (
        "import pathlib\n"
        "pathlib.Path(__file__).write_text(pathlib.Path(__file__).read_text() + '\\n# more')\n"
    )
    (project.plugins_dir / "racy.py").write_text(racy)
    result = await host.load("racy")
    assert not result.ok
    assert "changed while it was being loaded" in str(result.error)
    resp = await client.get("/v")
    assert await resp.json() == {"v": 1}


async def test_a_plugin_caught_half_saved_with_no_routes_is_not_a_successful_load(
    plughost_project: Any, plughost_client: ClientFactory
) -> None:
    """The first part of an in-place save declares nothing; the rest lands just after."""
    from plughost.testing import host_of

    good = 'import plughost\n\n@plughost.route("/v")\nasync def v():\n    return {"v": 1}\n'
    project = plughost_project({"halfsaved": good})
    client = await plughost_client(project)
    host = host_of(client)
    # What the loader reads is the start of the file: imports and a timer standing in
    # for the editor, which writes the rest (the route) a moment after the read.
    first_part = (
        "import pathlib, threading\n"
        "HERE = pathlib.Path(__file__)\n"
        "REST = 'import plughost\\n@plughost.route(\"/v\")\\n'\n"
        "REST += 'async def v():\\n    return {\"v\": 2}\\n'\n"
        "threading.Timer(0.05, lambda: HERE.write_text(HERE.read_text() + REST)).start()\n"
    )
    (project.plugins_dir / "halfsaved.py").write_text(first_part)
    result = await host.load("halfsaved")
    assert not result.ok
    assert "being written while it loaded" in str(result.error)
    assert await (await client.get("/v")).json() == {"v": 1}
    # The whole file, once written, loads.
    again = await host.load("halfsaved")
    assert again.ok, again.error
    assert await (await client.get("/v")).json() == {"v": 2}
