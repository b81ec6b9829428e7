"""``plughost run --workers 2`` as real processes: one reload for both workers, all or nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from typing import Any

from _workers import WorkersServer, free_port, run_cli, serve_workers

from plughost.testing import ProjectFactory

WHO = """
import os
import plughost

VERSION = "{version}"

@plughost.route("/who")
async def who():
    return {{"pid": os.getpid(), "version": VERSION}}
"""

# setup() refuses in the one worker whose pid is named by a file beside plughost.toml.
PICKY = """
import os
from pathlib import Path

import plughost

VERSION = "{version}"

def setup(host):
    if (Path(host.config.path).parent / f"refuse-{{os.getpid()}}").exists():
        raise RuntimeError(f"refused in {{os.getpid()}}")

@plughost.route("/picky")
async def picky():
    return {{"pid": os.getpid(), "version": VERSION}}
"""

JOBS = """
import os
from plughost import BasePlugin


async def double(n):
    return n * 2


class Jobs(BasePlugin):
    route_path = "jobs"

    def request_handler(self, **args):
        if "n" in args:
            return {"pid": os.getpid(), "id": self.tasks.start(double, int(args["n"]))}
        info = self.tasks.get(args["id"])
        return {"pid": os.getpid(), "task": info.as_dict() if info else None}
"""


async def _status_until(
    server: WorkersServer, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            status, document = await server.get("/_plughost/status")
            if status == 200 and done(document):
                found: dict[str, Any] = document
                return found
            await asyncio.sleep(0.1)


def _versions(answers: dict[int, dict[str, str]]) -> set[str]:
    return {answer["version"] for answer in answers.values()}


async def test_plughost_reload_reaches_both_workers_and_a_broken_edit_neither(
    plughost_project: ProjectFactory,
) -> None:
    # The port in plughost.toml, so that `plughost plugins list` finds the server.
    port = free_port()
    project = plughost_project({"who": WHO.format(version="v1")}, config=f"[server]\nport = {port}")
    config = str(project.config_path)
    async with serve_workers(project.config_path, port=port) as server:
        first = await server.pids("/who")
        assert _versions(first) == {"v1"}
        pids = sorted(first)

        project.write_plugin("who", WHO.format(version="v2"))
        code, out = await run_cli("--config", config, "reload", "--port", str(server.port))
        assert code == 0, out
        assert "reloaded who (version 2" in out
        assert f"2 workers ({pids[0]}, {pids[1]})" in out
        # The reload answered after both workers committed: no worker serves v1 any more.
        after = await server.until("/who", lambda seen: len(seen) == 2)
        assert _versions(after) == {"v2"}

        project.write_plugin("who", "def broken(:\n")
        code, out = await run_cli("--config", config, "reload", "--port", str(server.port))
        assert code == 1
        assert "failed who: worker " in out and "SyntaxError" in out
        still = await server.until("/who", lambda seen: len(seen) == 2)
        assert _versions(still) == {"v2"}

        status, document = await server.get("/_plughost/status")
        assert status == 200
        assert document["workers"] == {"count": 2, "pids": pids}
        entry = document["plugins"]["who"]
        assert entry["mismatch"] is False
        assert {w["version"] for w in entry["workers"].values()} == {2}
        assert "SyntaxError" in entry["error"]

        code, out = await run_cli("--config", config, "plugins", "list", "--json")
        assert code == 0, out
        view = json.loads(out)
        assert view["server"]["workers"] == 2
        (row,) = view["plugins"]
        assert sorted(row["live"]["workers"]) == [str(pid) for pid in pids]
        assert row["live"]["mismatch"] is False

        # A worker that crashes is replaced; the new one loads the refused edit from
        # disk and fails it, while the other still serves v2: the status says so.
        os.kill(pids[0], signal.SIGKILL)
        document = await _status_until(
            server, lambda d: d["workers"]["count"] == 2 and pids[0] not in d["workers"]["pids"]
        )
        assert document["plugins"]["who"]["mismatch"] is True
        code, out = await run_cli("--config", config, "plugins", "list")
        assert "MISMATCH" in out and "(2 workers)" in out

        project.write_plugin("who", WHO.format(version="v3"))
        code, out = await run_cli("--config", config, "reload", "--port", str(server.port))
        assert code == 0, out
        status, document = await server.get("/_plughost/status")
        assert document["plugins"]["who"]["mismatch"] is False
        answers = await server.until("/who", lambda seen: len(seen) == 2)
        assert _versions(answers) == {"v3"}
    log = server.text()
    # Each reload is one line for the whole server, not one per worker.
    assert log.count("reloaded who in") == 2
    assert log.count("plugin 'who' failed to load in worker") == 1


async def test_one_worker_refusing_keeps_the_old_version_in_both(
    plughost_project: ProjectFactory,
) -> None:
    project = plughost_project({"picky": PICKY.format(version="v1")})
    async with serve_workers(project.config_path) as server:
        pids = sorted(await server.pids("/picky"))
        (project.root / f"refuse-{pids[1]}").touch()
        project.write_plugin("picky", PICKY.format(version="v2"))
        code, out = await run_cli(
            "--config", str(project.config_path), "reload", "--port", str(server.port)
        )
        assert code == 1
        assert f"failed picky: worker {pids[1]}: " in out
        assert f"refused in {pids[1]}" in out
        answers = await server.until("/picky", lambda seen: len(seen) == 2)
        assert _versions(answers) == {"v1"}

        (project.root / f"refuse-{pids[1]}").unlink()
        code, out = await run_cli(
            "--config", str(project.config_path), "reload", "--port", str(server.port)
        )
        assert code == 0, out
        answers = await server.until("/picky", lambda seen: len(seen) == 2)
        assert _versions(answers) == {"v2"}


async def test_a_task_started_on_one_worker_is_read_on_the_other(
    plughost_project: ProjectFactory,
) -> None:
    project = plughost_project({"jobs": JOBS})
    async with serve_workers(project.config_path) as server:
        status, started = await server.get("/jobs", n="21")
        assert status == 200
        other = None
        for _ in range(200):
            status, read = await server.get("/jobs", id=started["id"])
            if read["pid"] != started["pid"] and read["task"]["state"] == "done":
                other = read
                break
        assert other is not None, "no other worker answered"
        assert other["task"]["result"] == 42


async def test_an_edit_reaches_both_workers_with_reload_on(
    plughost_project: ProjectFactory,
) -> None:
    project = plughost_project({"who": WHO.format(version="v1")})
    async with serve_workers(project.config_path, "--reload") as server:
        await server.pids("/who")
        project.write_plugin("who", WHO.format(version="v2"))
        answers = await server.until(
            "/who", lambda seen: len(seen) == 2 and _versions(seen) == {"v2"}
        )
        assert len(answers) == 2
    assert server.text().count("reloaded who in") == 1
