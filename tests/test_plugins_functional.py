"""Plugins on disk: modules, packages, helpers, the disabled rule, failures, lifecycle.

Every test writes real plugin files into a temporary project and serves it on
a real loopback server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _support import host_of, poll

from plughost.testing import ClientFactory, Project, ProjectFactory

MODULE = """
import plughost
from ._shared import shout


@plughost.route("/module")
async def module_route():
    return {"text": shout("module"), "module": __name__}
"""

SHARED = """
import plughost


def shout(text):
    return text.upper() + "!"


# A helper is never a plugin: nothing it declares is collected.
@plughost.route("/shared")
async def shared_route():
    return "never served"


def start_request(context):
    raise RuntimeError("a helper's hooks never run")
"""

PACKAGE_INIT = """
import plughost
from .words import greeting
from .. import _shared


@plughost.route("/package")
async def package_route():
    return {"text": _shared.shout(greeting()), "module": __name__}
"""

PACKAGE_WORDS = """
from .deeper.names import NAME


def greeting():
    return f"hello {NAME}"
"""

PACKAGE_DEEPER = """
NAME = "package"
"""


def _package_project(plughost_project: ProjectFactory) -> Project:
    return plughost_project(
        {
            "_shared": SHARED,
            "mod": MODULE,
            "pkg/__init__": PACKAGE_INIT,
            "pkg/words": PACKAGE_WORDS,
            "pkg/deeper/__init__": "",
            "pkg/deeper/names": PACKAGE_DEEPER,
        },
        enabled=["mod", "pkg"],
    )


async def test_module_and_package_plugins_with_relative_imports(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(_package_project(plughost_project))
    resp = await client.get("/module")
    assert resp.status == 200, await resp.text()
    module = await resp.json()
    assert module["text"] == "MODULE!"
    resp = await client.get("/package")
    assert resp.status == 200, await resp.text()
    package = await resp.json()
    assert package["text"] == "HELLO PACKAGE!"
    # Both live in one private namespace, never as top-level modules.
    namespace = module["module"].rpartition(".")[0]
    assert namespace.startswith("_plughost_")
    assert package["module"] == f"{namespace}.pkg"
    assert "mod" not in sys.modules and "pkg" not in sys.modules


async def test_helper_module_is_not_a_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = _package_project(plughost_project)
    client = await plughost_client(project)
    # Its route is not served, its hook never runs, and it has no status.
    assert (await client.get("/shared")).status == 404
    assert (await client.get("/module")).status == 200
    resp = await client.get("/_plughost/status")
    assert set((await resp.json())["plugins"]) == {"mod", "pkg"}


async def test_unimported_helper_never_runs(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    marker = tmp_path / "helper-ran"
    helper = f"open({str(marker)!r}, 'w').close()\n"
    project = plughost_project(
        {"_unused": helper, "mod": MODULE, "_shared": SHARED}, enabled=["mod"]
    )
    client = await plughost_client(project)
    assert (await client.get("/module")).status == 200
    assert not marker.exists()


async def test_plugin_named_like_a_stdlib_module_shadows_nothing(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    shadow = """
import plughost

SHADOW = True


@plughost.route("/shadow")
async def shadow():
    return {"ok": True}
"""
    user = """
import json

import plughost


@plughost.route("/user")
async def user():
    return {"real_json": not hasattr(json, "SHADOW"), "dumps": json.dumps([1])}
"""
    client = await plughost_client(plughost_project({"json": shadow, "user": user}))
    assert await (await client.get("/shadow")).json() == {"ok": True}
    assert await (await client.get("/user")).json() == {"real_json": True, "dumps": "[1]"}


WRITES_AT_IMPORT = """
import plughost

open({marker!r}, "w").close()


@plughost.route("/sneaky")
async def sneaky():
    return "should never be served"
"""


async def test_disabled_plugin_is_never_imported(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    disabled_marker = tmp_path / "disabled-imported"
    unlisted_marker = tmp_path / "unlisted-imported"
    project = plughost_project(
        {
            "mod": MODULE,
            "_shared": SHARED,
            "sneaky": WRITES_AT_IMPORT.format(marker=str(disabled_marker)),
            "dropped": WRITES_AT_IMPORT.format(marker=str(unlisted_marker)).replace(
                "/sneaky", "/dropped"
            ),
        },
        enabled=["mod"],
        disabled=["sneaky"],
    )
    client = await plughost_client(project)
    assert (await client.get("/module")).status == 200
    assert (await client.get("/sneaky")).status == 404
    assert (await client.get("/dropped")).status == 404
    assert not disabled_marker.exists()
    assert not unlisted_marker.exists()
    plugins = (await (await client.get("/_plughost/status")).json())["plugins"]
    assert plugins["sneaky"]["state"] == "disabled"
    assert plugins["mod"]["state"] == "loaded"


RAISES_AT_IMPORT = """\
import plughost


def helper():
    raise ValueError("bad constant")


VALUE = helper()
"""

SYNTAX_ERROR = """\
import plughost

def broken(:
    pass
"""


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        (RAISES_AT_IMPORT, 5, "ValueError: bad constant"),
        (SYNTAX_ERROR, 3, "SyntaxError"),
    ],
    ids=["raises", "syntax-error"],
)
async def test_plugin_whose_import_fails_leaves_others_serving(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    source: str,
    line: int,
    message: str,
) -> None:
    project = plughost_project(
        {
            "first": MODULE.replace("/module", "/first"),
            "broken": source,
            "_shared": SHARED,
            "last": MODULE.replace("/module", "/last"),
        },
        enabled=["first", "broken", "last"],
    )
    client = await plughost_client(project)
    # The plugins before and after the broken one serve.
    assert (await client.get("/first")).status == 200
    assert (await client.get("/last")).status == 200
    plugins = (await (await client.get("/_plughost/status")).json())["plugins"]
    assert plugins["first"]["state"] == "loaded"
    assert plugins["last"]["state"] == "loaded"
    assert plugins["broken"]["state"] == "error"
    where = f"{project.plugins_dir / 'broken.py'}:{line}"
    assert where in plugins["broken"]["error"]
    assert message in plugins["broken"]["error"]
    # The broken plugin's own path answers, but never with its code.
    resp = await client.get("/broken")
    assert resp.status == 503


async def test_failed_plugin_named_like_another_plugins_route(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    serves_broken = """
import plughost


@plughost.route("/broken")
async def page():
    return "a page called broken"
"""
    project = plughost_project({"pages": serves_broken, "broken": RAISES_AT_IMPORT})
    client = await plughost_client(project)
    assert await (await client.get("/broken")).text() == "a page called broken"
    assert host_of(client).status()["broken"].state == "error"


# -- lifecycle: setup, close, refusal --------------------------------------

LIFECYCLE = """
import plughost

LOG = {log!r}


def record(event):
    with open(LOG, "a") as log:
        log.write(event + "\\n")


class Wrapper:
    name = "lifecycle-wrapper"

    def apply(self, callback, route):
        return callback

    def close(self):
        record("wrapper close")


{setup}
    record("setup")
    host.install(Wrapper())


{close}
    record("close")


@plughost.route("/life")
async def life():
    return "alive"
"""


def _lifecycle(log: Path, *, async_setup: bool = False, async_close: bool = False) -> str:
    return LIFECYCLE.format(
        log=str(log),
        setup="async def setup(host):" if async_setup else "def setup(host):",
        close="async def close():" if async_close else "def close():",
    )


def _events(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize(
    ("async_setup", "async_close"), [(False, False), (True, True)], ids=["sync", "async"]
)
async def test_close_runs_exactly_once_per_setup(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    tmp_path: Path,
    async_setup: bool,
    async_close: bool,
) -> None:
    log = tmp_path / "events.log"
    source = _lifecycle(log, async_setup=async_setup, async_close=async_close)
    client = await plughost_client(plughost_project({"life": source}))
    assert await (await client.get("/life")).text() == "alive"
    assert _events(log) == ["setup"]
    host = host_of(client)
    await host.close()
    await host.close()
    # The plugin's close() first, then the wrapper its setup installed: last
    # registered, first closed.
    assert _events(log) == ["setup", "wrapper close", "close"]


async def test_unload_removes_exactly_what_the_plugin_owned(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    log = tmp_path / "events.log"
    tagger = """
import plughost


class Tag:
    name = "tag"

    def apply(self, callback, route):
        async def tagged(**kwargs):
            return {**await callback(**kwargs), "tagged": True}

        return tagged


def setup(host):
    host.install(Tag())


@plughost.route("/tagger")
async def own():
    return {"own": True}
"""
    other = """
import plughost


@plughost.route("/other")
async def other():
    return {"other": True}
"""
    project = plughost_project({"life": _lifecycle(log), "tagger": tagger, "other": other})
    client = await plughost_client(project)
    host = host_of(client)
    assert await (await client.get("/other")).json() == {"other": True, "tagged": True}

    await host.unload("tagger")
    # Its route and its wrapper are gone; everybody else is untouched.
    assert (await client.get("/tagger")).status == 404
    assert await (await client.get("/other")).json() == {"other": True}
    assert [getattr(p, "name", None) for p in host.plugins] == ["lifecycle-wrapper"]

    await host.unload("life")
    assert (await client.get("/life")).status == 404
    assert _events(log) == ["setup", "wrapper close", "close"]
    assert host.status()["life"].state == "disabled"
    await host.close()
    assert _events(log) == ["setup", "wrapper close", "close"]


async def test_close_without_setup_runs_once(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    log = tmp_path / "events.log"
    source = f"""
def close():
    with open({str(log)!r}, "a") as log:
        log.write("close\\n")
"""
    client = await plughost_client(plughost_project({"bare": source}))
    assert host_of(client).status()["bare"].state == "loaded"
    await host_of(client).close()
    await host_of(client).close()
    assert _events(log) == ["close"]


REFUSES = """
import plughost

LOG = {log!r}


def record(event):
    with open(LOG, "a") as log:
        log.write(event + "\\n")


class Wrapper:
    name = "refused-wrapper"

    def apply(self, callback, route):
        async def wrapped(**kwargs):
            return "wrapped by a refused plugin"

        return wrapped

    def close(self):
        record("wrapper close")


def setup(host):
    host.install(Wrapper())
    raise plughost.PluginError("needs a database that is not configured")


def close():
    record("close")


@plughost.route("/refuses")
async def refuses():
    return "never"
"""


async def test_setup_refusal_leaves_nothing_behind(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    log = tmp_path / "events.log"
    project = plughost_project(
        {"refuses": REFUSES.format(log=str(log)), "mod": MODULE, "_shared": SHARED},
        enabled=["refuses", "mod"],
    )
    client = await plughost_client(project)
    status = host_of(client).status()
    assert status["refuses"].state == "error"
    assert "needs a database that is not configured" in (status["refuses"].error or "")
    # What its setup installed before refusing was closed; its own close() never
    # runs, since its setup never succeeded.
    assert _events(log) == ["wrapper close"]
    assert host_of(client).plugins == []
    resp = await client.get("/module")
    assert (await resp.json())["text"] == "MODULE!"
    await host_of(client).close()
    assert _events(log) == ["wrapper close"]


async def test_setup_raising_names_file_and_line(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    source = """\
def setup(host):
    config = {}
    return config["missing"]
"""
    project = plughost_project({"crashes": source})
    client = await plughost_client(project)
    error = host_of(client).status()["crashes"].error or ""
    assert f"{project.plugins_dir / 'crashes.py'}:3" in error
    assert "KeyError" in error


# -- a real `serve()` process, stopped with SIGTERM ------------------------

SLOW = """
import asyncio

import plughost

LOG = {log!r}


def record(event):
    with open(LOG, "a") as log:
        log.write(event + "\\n")


def setup(host):
    record("setup")


def close():
    record("close")


@plughost.route("/slow")
async def slow():
    record("slow started")
    await asyncio.sleep(0.5)
    return "finished"
"""

SERVE = """
import sys

from plughost.config import load_config
from plughost.server import serve

serve(load_config(sys.argv[1]), port=int(sys.argv[2]), access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_server_shutdown_finishes_requests_and_closes_once(
    plughost_project: ProjectFactory, tmp_path: Path
) -> None:
    log = tmp_path / "events.log"
    project = plughost_project({"slow": SLOW.format(log=str(log))})
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVE,
        str(project.config_path),
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:

            async def status() -> int:
                try:
                    async with session.get(f"{base}/_plughost/status") as resp:
                        return resp.status
                except aiohttp.ClientConnectionError:
                    return 0

            await poll(status, lambda code: code == 200, timeout=20)
            slow = asyncio.ensure_future(session.get(f"{base}/slow"))
            await poll(
                lambda: asyncio.sleep(0, _events(log)), lambda events: "slow started" in events
            )
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                resp = await slow
                assert resp.status == 200
                assert await resp.text() == "finished"
                await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, await _stderr(process)
    assert _events(log) == ["setup", "slow started", "close"]


async def _stderr(process: Any) -> str:
    data: bytes = await process.stderr.read()
    return data.decode(errors="replace")


async def test_errors_inside_a_package_name_the_submodule(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project(
        {
            "pkg/__init__": "from .inner import VALUE\n",
            "pkg/inner": "import math\n\nVALUE = math.sqrt(-1)\n",
            "missing": "import plughost\nimport no_such_module_anywhere\n",
            "mod": MODULE,
            "_shared": SHARED,
        },
        enabled=["pkg", "missing", "mod"],
    )
    client = await plughost_client(project)
    status = host_of(client).status()
    assert f"{project.plugins_dir / 'pkg' / 'inner.py'}:3" in (status["pkg"].error or "")
    assert "ValueError: math domain error" in (status["pkg"].error or "")
    missing = status["missing"].error or ""
    assert f"{project.plugins_dir / 'missing.py'}:2" in missing
    assert "No module named 'no_such_module_anywhere'" in missing
    assert (await client.get("/module")).status == 200


async def test_a_failing_close_does_not_stop_the_others(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = tmp_path / "events.log"
    failing = "def close():\n    raise RuntimeError('close went wrong')\n"
    project = plughost_project(
        {
            "first": _lifecycle(log),
            "failing": failing,
            "last": _lifecycle(log).replace("/life", "/last"),
        },
    )
    client = await plughost_client(project)
    assert {name: s.state for name, s in host_of(client).status().items()} == {
        "first": "loaded",
        "failing": "loaded",
        "last": "loaded",
    }
    await host_of(client).close()
    await host_of(client).close()
    # Both other plugins closed once each, whatever the order.
    assert sorted(_events(log)) == sorted(["setup", "setup", *["wrapper close", "close"] * 2])
    assert "close went wrong" in caplog.text
