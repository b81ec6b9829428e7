"""The fixtures plugin authors get: they work under pytest-asyncio's strict mode too."""

import subprocess
import sys
import textwrap
from pathlib import Path

from plughost.testing import ClientFactory, ProjectFactory

PLUGIN_TEST = """
from pathlib import Path

async def test_hello(plughost_client):
    client = await plughost_client(Path(__file__).parent / "plughost.toml")
    resp = await client.get("/hello")
    assert resp.status == 200
    assert await resp.json() == {"hello": "world"}
"""

HELLO = """
import plughost

@plughost.route("/hello")
async def hello():
    return {"hello": "world"}
"""


def test_generated_style_test_passes_in_strict_mode(plughost_project: ProjectFactory) -> None:
    project = plughost_project({"hello": HELLO})
    (project.root / "test_hello.py").write_text(textwrap.dedent(PLUGIN_TEST))
    (project.root / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project.root)],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


async def test_status_names_the_config(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"hello": HELLO})
    client = await plughost_client(project)
    body = await (await client.get("/_plughost/status")).json()
    assert Path(body["config"]) == project.config_path.absolute()
    assert body["plugins"]["hello"]["state"] == "loaded"
