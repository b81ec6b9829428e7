"""``plughost reload`` against one process, and the status document of several workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _workers import free_port, run_cli, serve_workers

from plughost.config import parse_config
from plughost.errors import ConfigError
from plughost.testing import ClientFactory, ProjectFactory
from plughost.workers.merge import merge_documents

WHO = """
import os
import plughost

@plughost.route("/who")
async def who():
    return {{"pid": os.getpid(), "version": "{version}"}}
"""


async def test_plughost_reload_applies_to_a_single_process(
    plughost_project: ProjectFactory,
) -> None:
    port = free_port()
    project = plughost_project({"who": WHO.format(version="v1")}, config=f"[server]\nport = {port}")
    config = str(project.config_path)
    async with serve_workers(project.config_path, workers=1, port=port) as server:
        code, out = await run_cli("--config", config, "reload")
        assert (code, out.strip()) == (0, "unchanged: every plugin serves what is on disk")

        project.write_plugin("who", WHO.format(version="v2"))
        code, out = await run_cli("--config", config, "reload")
        assert code == 0, out
        assert out.startswith("reloaded who (version 2")
        assert (await server.get("/who"))[1]["version"] == "v2"

        project.write_plugin("who", "def broken(:\n")
        code, out = await run_cli("--config", config, "reload")
        assert code == 1
        assert out.startswith("failed who: ") and "SyntaxError" in out
        assert (await server.get("/who"))[1]["version"] == "v2"

        status, document = await server.get("/_plughost/status")
        assert document["workers"]["count"] == 1
        assert document["plugins"]["who"]["mismatch"] is False


async def test_plughost_reload_without_a_server_says_so(
    plughost_project: ProjectFactory,
) -> None:
    project = plughost_project({"who": WHO.format(version="v1")})
    port = str(free_port())
    code, out = await run_cli("--config", str(project.config_path), "reload", "--port", port)
    assert code == 1
    assert f"no plughost server answers at http://127.0.0.1:{port}/_plughost/reload" in out


def test_merged_status_flags_workers_serving_different_versions() -> None:
    def document(version: int, digest: str) -> dict[str, object]:
        entry = {"state": "loaded", "version": version, "digest": digest, "error": None}
        return {"config": "/p/plughost.toml", "plugins": {"who": entry}}

    same = merge_documents({2: document(1, "aa"), 1: document(1, "aa")})
    assert same["workers"] == {"count": 2, "pids": [1, 2]}
    assert same["plugins"]["who"]["mismatch"] is False
    differ = merge_documents({1: document(2, "bb"), 2: document(1, "aa")})
    assert differ["plugins"]["who"]["mismatch"] is True
    assert differ["plugins"]["who"]["workers"]["2"]["digest"] == "aa"


async def test_the_reload_endpoint_refuses_a_request_a_web_page_could_send(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"who": WHO.format(version="v1")}))
    # A cross-site form post carries no custom header.
    resp = await client.post("/_plughost/reload", data={"x": "1"})
    assert resp.status == 400
    assert "X-Plughost-Reload" in (await resp.json())["error"]
    resp = await client.post("/_plughost/reload", headers={"X-Plughost-Reload": "1"})
    assert resp.status == 200
    report = await resp.json()
    assert report["ok"] is True and report["plugins"] == []


def test_one_process_imports_no_gunicorn() -> None:
    probe = (
        "import sys\n"
        "import plughost.server, plughost.reload.deploy, plughost.workers.arbiter\n"
        "print('gunicorn' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_workers_below_one_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="server.workers: expected at least 1"):
        parse_config("[server]\nworkers = 0", tmp_path / "plughost.toml")
