"""Hot reload through real watchfiles events on real files."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from _support import edit_and_wait
from aiohttp.test_utils import TestClient

from plughost.host import PluginState
from plughost.reload.bytecode import wait_for_writes
from plughost.testing import (
    ClientFactory,
    Project,
    ProjectFactory,
    host_of,
    reloader_of,
    wait_for_load,
)

V1 = """
import plughost

@plughost.route("/hello")
async def hello():
    return {"version": VERSION}

VERSION = 1
"""


def version(n: int) -> str:
    return V1.replace("VERSION = 1", f"VERSION = {n}")


# Reload tests run as a user's Python does: writing .pyc files.
pytestmark = pytest.mark.usefixtures("writes_bytecode")


async def test_edit_serves_new_code(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    assert await (await client.get("/hello")).json() == {"version": 1}
    for n in range(2, 6):
        result = await edit_and_wait(client, project.plugins_dir / "hello.py", version(n), "hello")
        assert result.ok
        assert await (await client.get("/hello")).json() == {"version": n}


async def test_broken_edit_keeps_old_version(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "hello.py"
    result = await edit_and_wait(client, path, version(2) + "\ndef broken(:\n", "hello", ok=False)
    assert result.error is not None
    assert "hello.py:10" in str(result.error)
    resp = await client.get("/hello")
    assert await resp.json() == {"version": 1}
    status = host_of(client).status()["hello"]
    assert status.state is PluginState.LOADED and "SyntaxError" in (status.error or "")
    result = await edit_and_wait(client, path, version(3), "hello")
    assert await (await client.get("/hello")).json() == {"version": 3}
    assert host_of(client).status()["hello"].error is None


async def edit_config_and_wait(client: Any, project: Project, text: str) -> None:
    done = reloader_of(client).batch_done
    project.config_path.write_text(text)
    async with asyncio.timeout(10):
        await done.wait()


LIFECYCLE = """
import plughost
from pathlib import Path

LOG = Path(__file__).with_name("lifecycle.log")

def setup(host):
    with LOG.open("a") as f:
        f.write("setup\\n")

def close():
    with LOG.open("a") as f:
        f.write("close\\n")

@plughost.route("/life")
async def life():
    return {"generation": GENERATION}

GENERATION = 0
"""


async def test_close_once_per_setup_across_reloads(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"life": LIFECYCLE})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "life.py"
    for n in range(1, 11):
        await edit_and_wait(
            client, path, LIFECYCLE.replace("GENERATION = 0", f"GENERATION = {n}"), "life"
        )
        assert await (await client.get("/life")).json() == {"generation": n}
    log = project.plugins_dir / "lifecycle.log"
    async with asyncio.timeout(10):
        while log.read_text().count("close") < 10:
            await asyncio.sleep(0.01)
    await host_of(client).close()
    lines = log.read_text().split()
    assert lines.count("setup") == 11
    assert lines.count("close") == 11


FAILURES = {
    "import error": "import no_such_module_here\n",
    "raise at import": "raise RuntimeError('boom at import')\n",
    "setup raises": "def setup(host):\n    raise ValueError('setup says no')\n",
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
async def test_each_failure_keeps_old_version(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, kind: str
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "hello.py"
    result = await edit_and_wait(client, path, version(2) + FAILURES[kind], "hello", ok=False)
    assert "hello.py" in str(result.error)
    assert await (await client.get("/hello")).json() == {"version": 1}
    assert kind.split()[0] in str(result.error).lower() or "error" in str(result.error).lower()
    await edit_and_wait(client, path, version(3), "hello")
    assert await (await client.get("/hello")).json() == {"version": 3}


async def test_route_conflict_keeps_old_version(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    other = 'import plughost\n\n@plughost.route("/taken")\nasync def taken():\n    return "other"\n'
    project: Project = plughost_project({"hello": version(1), "other": other})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "hello.py"
    result = await edit_and_wait(
        client, path, version(2).replace("/hello", "/taken"), "hello", ok=False
    )
    assert "GET /taken is claimed by plugin 'hello' and plugin 'other'" in str(result.error)
    assert await (await client.get("/hello")).json() == {"version": 1}
    assert await (await client.get("/taken")).text() == "other"


PARAMS_PLUGIN = """
from dataclasses import dataclass
import plughost

@dataclass
class Params:
    greeting: str = "hi"
    times: int = 1

def setup(host):
    @host.route("/greet")
    async def greet():
        return host.params.greeting * host.params.times
"""


async def test_params_edit_and_invalid_params(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"greet": PARAMS_PLUGIN}, params={"greet": {"times": 2}})
    client = await plughost_client(project, reload=True)
    assert await (await client.get("/greet")).text() == "hihi"
    text = project.config_path.read_text()
    waiter = asyncio.create_task(wait_for_load(host_of(client), "greet"))
    await asyncio.sleep(0)
    project.config_path.write_text(text.replace("times = 2", "times = 3"))
    assert (await waiter).ok
    assert await (await client.get("/greet")).text() == "hihihi"
    waiter = asyncio.create_task(wait_for_load(host_of(client), "greet"))
    await asyncio.sleep(0)
    project.config_path.write_text(text.replace("times = 2", 'times = "many"'))
    result = await waiter
    assert not result.ok
    assert "plugins.greet.params.times: expected int, got 'many'" in str(result.error)
    assert await (await client.get("/greet")).text() == "hihihi"


async def test_broken_toml_keeps_last_good_config(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    good = project.config_path.read_text()
    await edit_config_and_wait(client, project, good + "\n[plugins.hello\n")
    assert "config not applied" in caplog.text
    assert "plughost.toml:" in caplog.text
    assert await (await client.get("/hello")).json() == {"version": 1}
    assert host_of(client).config.plugin("hello") is not None


async def test_disable_and_enable_in_config(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    text = project.config_path.read_text()
    await edit_config_and_wait(client, project, text.replace("enabled = true", "enabled = false"))
    assert (await client.get("/hello")).status == 404
    assert host_of(client).status()["hello"].state is PluginState.DISABLED
    waiter = asyncio.create_task(wait_for_load(host_of(client), "hello"))
    await asyncio.sleep(0)
    project.config_path.write_text(text)
    assert (await waiter).ok
    assert await (await client.get("/hello")).json() == {"version": 1}


async def test_delete_and_readd_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "hello.py"
    waiter = asyncio.create_task(wait_for_load(host_of(client), "hello"))
    await asyncio.sleep(0)
    path.unlink()
    assert not (await waiter).ok
    assert (await client.get("/hello")).status == 404
    assert host_of(client).status()["hello"].state is PluginState.MISSING
    await edit_and_wait(client, path, version(2), "hello")
    assert await (await client.get("/hello")).json() == {"version": 2}


PACKAGE_INIT = """
import plughost
from .messages import MESSAGE

@plughost.route("/pkg")
async def pkg():
    return MESSAGE
"""

HELPER_USER = """
import plughost
from . import _shared

@plughost.route("/{name}")
async def show():
    return _shared.VALUE
"""


async def test_package_submodule_edit(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project(
        {"pkg/__init__.py": PACKAGE_INIT, "pkg/messages.py": "MESSAGE = 'one'\n"}
    )
    client = await plughost_client(project, reload=True)
    assert await (await client.get("/pkg")).text() == "one"
    await edit_and_wait(
        client, project.plugins_dir / "pkg" / "messages.py", "MESSAGE = 'two'\n", "pkg"
    )
    assert await (await client.get("/pkg")).text() == "two"


async def test_helper_edit_reloads_importers(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project(
        {
            "_shared": "VALUE = 'first'\n",
            "alpha": HELPER_USER.replace("{name}", "alpha"),
            "beta": HELPER_USER.replace("{name}", "beta"),
            "gamma": version(1),
        },
        enabled=["alpha", "beta", "gamma"],
    )
    client = await plughost_client(project, reload=True)
    assert await (await client.get("/alpha")).text() == "first"
    waiters = [asyncio.create_task(wait_for_load(host_of(client), n)) for n in ("alpha", "beta")]
    gamma_version = host_of(client).status()["gamma"].version
    await asyncio.sleep(0)
    (project.plugins_dir / "_shared.py").write_text("VALUE = 'second'\n")
    assert all(result.ok for result in await asyncio.gather(*waiters))
    assert await (await client.get("/alpha")).text() == "second"
    assert await (await client.get("/beta")).text() == "second"
    assert host_of(client).status()["gamma"].version == gamma_version


async def test_failed_first_load_answers_503_until_fixed(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": "raise RuntimeError('not yet')\n"})
    client = await plughost_client(project, reload=True)
    resp = await client.get("/hello")
    assert resp.status == 503
    assert "'hello'" in (await resp.json())["error"]
    await edit_and_wait(client, project.plugins_dir / "hello.py", version(1), "hello")
    assert await (await client.get("/hello")).json() == {"version": 1}


SLOW = """
import asyncio
import plughost

@plughost.route("/slow")
async def slow(wait: str = "0"):
    await asyncio.sleep(float(wait))
    return {"version": VERSION}

VERSION = 1
"""


async def inside(client: TestClient[Any, Any], plugin: str) -> None:
    """Wait until a request is running inside ``plugin``'s serving version."""
    async with asyncio.timeout(10):
        while not host_of(client).versions[plugin].inflight:
            await asyncio.sleep(0.01)


async def test_inflight_request_finishes_on_old_code(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"slow": SLOW})
    client = await plughost_client(project, reload=True)
    old = asyncio.create_task(client.get("/slow", params={"wait": "1.0"}))
    await inside(client, "slow")
    await edit_and_wait(
        client, project.plugins_dir / "slow.py", SLOW.replace("VERSION = 1", "VERSION = 2"), "slow"
    )
    assert await (await client.get("/slow")).json() == {"version": 2}
    assert not old.done()
    assert await (await old).json() == {"version": 1}


WRAPPER = """
class Tag:
    name = "tag"
    def apply(self, callback, route):
        async def tagged(**kwargs):
            result = await callback(**kwargs)
            return {**result, "tag": TAG}
        return tagged

def setup(host):
    host.install(Tag())

TAG = 1
"""


OTHER = """
import plughost

@plughost.route("/other")
async def other():
    return {"other": True}
"""


async def test_wrapper_reload_resets_every_route(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    other = OTHER
    project: Project = plughost_project({"hello": version(1), "other": other, "tag": WRAPPER})
    client = await plughost_client(project, reload=True)
    assert await (await client.get("/other")).json() == {"other": True, "tag": 1}
    await edit_and_wait(
        client, project.plugins_dir / "tag.py", WRAPPER.replace("TAG = 1", "TAG = 2"), "tag"
    )
    assert await (await client.get("/other")).json() == {"other": True, "tag": 2}
    assert await (await client.get("/hello")).json() == {"version": 1, "tag": 2}
    # An endpoint-only reload leaves other routes' compiled handlers alone.
    other_route = next(r for r in host_of(client).routes if r.rule == "/other")
    handler = other_route.handler
    assert handler is not None
    await edit_and_wait(client, project.plugins_dir / "hello.py", version(2), "hello")
    assert await (await client.get("/hello")).json() == {"version": 2, "tag": 2}
    assert other_route.handler is handler


TASKS = """
import asyncio
from plughost import BasePlugin

async def work(n):
    return n * 2

class Jobs(BasePlugin):
    def request_handler(self, **args):
        if "start" in args:
            return {"id": self.tasks.start(work, int(args["start"]))}
        info = self.tasks.get(args["id"])
        return {"state": info.state.value, "result": info.result, "version": VERSION}

VERSION = 1
"""


async def test_task_results_survive_reload(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"jobs": TASKS})
    client = await plughost_client(project, reload=True)
    task_id = (await (await client.get("/jobs", params={"start": "21"})).json())["id"]
    await edit_and_wait(
        client, project.plugins_dir / "jobs.py", TASKS.replace("VERSION = 1", "VERSION = 2"), "jobs"
    )
    async with asyncio.timeout(10):
        while True:
            body = await (await client.get("/jobs", params={"id": task_id})).json()
            if body["state"] == "done":
                break
            await asyncio.sleep(0.01)
    assert body == {"state": "done", "result": 42, "version": 2}


async def test_no_growth_over_many_reloads(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    import os

    project: Project = plughost_project({"hello": version(0)})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "hello.py"

    def counts() -> tuple[int, int, int]:
        wait_for_writes()  # a pyc being written holds a file open for a moment
        return len(sys.modules), len(asyncio.all_tasks()), len(os.listdir("/proc/self/fd"))

    for n in range(1, 11):
        await edit_and_wait(client, path, version(n), "hello")
    assert await (await client.get("/hello")).json() == {"version": 10}
    before = counts()
    for n in range(11, 211):
        text = version(n) if n % 10 else version(n) + "\nraise RuntimeError('broken on purpose')\n"
        try:
            await edit_and_wait(client, path, text, "hello", ok=None)
        except TimeoutError:
            raise AssertionError(f"edit {n} was not reloaded") from None
    await edit_and_wait(client, path, version(999), "hello")
    assert await (await client.get("/hello")).json() == {"version": 999}
    try:
        async with asyncio.timeout(10):
            while len(asyncio.all_tasks()) > before[1]:
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"tasks grew: {before} {counts()} {asyncio.all_tasks()}") from None
    after = counts()
    assert after[0] == before[0]
    assert after[1] <= before[1]
    assert after[2] <= before[2]


async def test_cli_disable_and_enable_on_running_server(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    from click.testing import CliRunner

    from plughost.cli.commands import cli

    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    runner = CliRunner()
    config = str(project.config_path)
    done = reloader_of(client).batch_done
    result = runner.invoke(cli, ["--config", config, "plugins", "disable", "hello"])
    assert result.exit_code == 0, result.output
    async with asyncio.timeout(10):
        await done.wait()
    assert (await client.get("/hello")).status == 404
    waiter = asyncio.create_task(wait_for_load(host_of(client), "hello"))
    await asyncio.sleep(0)
    result = runner.invoke(cli, ["--config", config, "plugins", "enable", "hello"])
    assert result.exit_code == 0, result.output
    assert (await waiter).ok
    assert await (await client.get("/hello")).json() == {"version": 1}
    waiter = asyncio.create_task(wait_for_load(host_of(client), "hello"))
    await asyncio.sleep(0)
    result = runner.invoke(cli, ["--config", config, "plugins", "set", "hello", "colour=blue"])
    assert result.exit_code == 0, result.output
    assert (await waiter).ok
    assert host_of(client).versions["hello"].handle.params == {"colour": "blue"}


async def test_cors_auth_and_port_edits_apply_live(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = "from plughost import BasePlugin\n\nclass Hello(BasePlugin):\n"
    endpoint += "    def request_handler(self, **args):\n        return {'ok': True}\n"
    project: Project = plughost_project({"hello": endpoint}, config='[auth]\napikey = "one"\n')
    text = project.config_path.read_text()
    project.config_path.write_text(
        text.replace("enabled = true", 'enabled = true\nauth_type = "global"')
    )
    client = await plughost_client(project, reload=True)
    origin = {"Origin": "https://app.example.com"}
    resp = await client.get("/hello", headers={**origin, "X-API-Key": "one"})
    assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers
    edited = project.config_path.read_text().replace('apikey = "one"', 'apikey = "two"')
    edited += '\n[cors]\nenabled = true\nallow_origins = ["https://app.example.com"]\n'
    edited = edited.replace("[auth]", "[server]\nport = 9999\n\n[auth]")
    loaded_version = host_of(client).status()["hello"].version
    await edit_config_and_wait(client, project, edited)
    # Keys and CORS apply without reloading the plugin, so its state survives.
    assert host_of(client).status()["hello"].version == loaded_version
    assert (await client.get("/hello", headers={"X-API-Key": "one"})).status == 401
    resp = await client.get("/hello", headers={**origin, "X-API-Key": "two"})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "restart plughost" in caplog.text


LONG_TASK = """
import asyncio
from pathlib import Path
from plughost import BasePlugin

LOG = Path(__file__).with_name("close.log")

async def work(seconds):
    await asyncio.sleep(seconds)
    return "slept"

class Jobs(BasePlugin):
    async def request_handler(self, **args):
        if "start" in args:
            return {"id": self.tasks.start(work, float(args["start"]))}
        info = self.tasks.get(args["id"])
        return {"state": info.state.value, "version": VERSION}

def close():
    with LOG.open("a") as f:
        f.write("closed\\n")

VERSION = 1
"""


async def test_old_version_tasks_finish_or_are_bounded_by_drain_timeout(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project(
        {"jobs": LONG_TASK}, config="[server]\ndrain_timeout = 1.0\n"
    )
    client = await plughost_client(project, reload=True)
    short = (await (await client.get("/jobs", params={"start": "0.3"})).json())["id"]
    long = (await (await client.get("/jobs", params={"start": "30"})).json())["id"]
    path = project.plugins_dir / "jobs.py"
    await edit_and_wait(client, path, LONG_TASK.replace("VERSION = 1", "VERSION = 2"), "jobs")
    log = project.plugins_dir / "close.log"
    assert not log.exists()
    async with asyncio.timeout(10):
        while not log.exists():
            await asyncio.sleep(0.02)
    short_state = await (await client.get("/jobs", params={"id": short})).json()
    long_state = await (await client.get("/jobs", params={"id": long})).json()
    assert short_state == {"state": "done", "version": 2}
    assert long_state == {"state": "cancelled", "version": 2}


WRAP_CLOSE = """
STATE = {"closed": False}
GEN = 1

class Wrap:
    name = "wrap"
    def apply(self, callback, route):
        async def wrapped(**kw):
            result = await callback(**kw)
            return {**result, "gen": GEN, "closed_before_done": STATE["closed"]}
        return wrapped
    def close(self):
        STATE["closed"] = True

def setup(host):
    host.install(Wrap())
"""

HOOK_CLOSE = """
STATE = {"closed": False}

def end_request(context):
    context.response.headers["X-Closed"] = str(STATE["closed"])

def close():
    STATE["closed"] = True

GEN = 1
"""


@pytest.mark.parametrize(("name", "source"), [("wrap", WRAP_CLOSE), ("hook", HOOK_CLOSE)])
async def test_reloaded_wrapper_or_hook_closes_after_its_inflight_requests(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, name: str, source: str
) -> None:
    project: Project = plughost_project({name: source, "slow": SLOW})
    client = await plughost_client(project, reload=True)
    pending = asyncio.create_task(client.get("/slow", params={"wait": "1.0"}))
    await inside(client, "slow")
    path = project.plugins_dir / f"{name}.py"
    await edit_and_wait(client, path, source.replace("GEN = 1", "GEN = 2"), name)
    resp = await pending
    if name == "wrap":
        body = await resp.json()
        assert body["gen"] == 1 and body["closed_before_done"] is False
    else:
        assert resp.headers["X-Closed"] == "False"


PKG_WITH_HELPER = """
import plughost
from .. import _shared

@plughost.route("/pkg")
async def pkg():
    return {"v": _shared.VALUE}
"""

USES_HELPER = """
import plughost
from . import _shared

@plughost.route("/uses")
async def uses():
    return {"v": _shared.VALUE}
"""


async def test_helper_edit_reloads_package_importers_and_revives_failed_ones(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project(
        {"pkg/__init__.py": PKG_WITH_HELPER, "uses": USES_HELPER}, enabled=["pkg", "uses"]
    )
    (project.plugins_dir / "_shared.py").write_text("raise RuntimeError('helper broken')\n")
    client = await plughost_client(project, reload=True)
    assert (await client.get("/uses")).status == 503
    waiters = [asyncio.create_task(wait_for_load(host_of(client), n)) for n in ("pkg", "uses")]
    await asyncio.sleep(0)
    (project.plugins_dir / "_shared.py").write_text("VALUE = 42\n")
    assert all(result.ok for result in await asyncio.gather(*waiters))
    assert await (await client.get("/uses")).json() == {"v": 42}
    assert await (await client.get("/pkg")).json() == {"v": 42}


async def test_disabling_or_deleting_a_plugin_releases_it(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1), "bad": "raise RuntimeError('x')\n"})
    client = await plughost_client(project, reload=True)
    host = host_of(client)
    module_name = host.versions["hello"].module.__name__
    assert (await client.get("/bad")).status == 503
    text = project.config_path.read_text()
    done = reloader_of(client).batch_done
    project.config_path.write_text(text.replace("enabled = true", "enabled = false"))
    async with asyncio.timeout(10):
        await done.wait()
        while module_name in sys.modules:
            await asyncio.sleep(0.01)
    assert host.status()["bad"].state is PluginState.DISABLED
    assert (await client.get("/bad")).status == 404
    assert (await client.get("/hello")).status == 404


async def test_cancelled_load_leaves_the_live_module_in_place(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project)
    host = host_of(client)
    live = host.versions["hello"].module
    started, finished = project.root / "started", project.root / "finished"
    slow = (
        f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(0.5)\n"
        f"{version(2)}\npathlib.Path({str(finished)!r}).touch()\n"
    )
    (project.plugins_dir / "hello.py").write_text(slow)
    loading = asyncio.create_task(host.load("hello"))
    async with asyncio.timeout(10):
        while not started.exists():
            await asyncio.sleep(0.01)
    loading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loading
    # The import thread runs on; once it has finished, its module must be rolled back.
    async with asyncio.timeout(10):
        while not finished.exists() or sys.modules.get(live.__name__) is not live:
            await asyncio.sleep(0.01)
    assert sys.modules[live.__name__] is live
    assert await (await client.get("/hello")).json() == {"version": 1}


@pytest.mark.parametrize("save", ["rename-away", "truncate-then-write"])
async def test_non_atomic_saves_never_drop_requests(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, save: str
) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "hello.py"
    statuses: list[int] = []
    stop = asyncio.Event()

    async def poll() -> None:
        while not stop.is_set():
            statuses.append((await client.get("/hello")).status)
            await asyncio.sleep(0.002)

    poller = asyncio.create_task(poll())
    try:
        waiter = asyncio.create_task(wait_for_load(host_of(client), "hello", ok=True))
        await asyncio.sleep(0)
        if save == "rename-away":
            path.rename(path.with_name("hello.py~"))
        else:
            path.write_text("")
        await asyncio.sleep(0.08)  # the editor's gap between emptying the file and writing it
        path.write_text(version(2))
        await waiter
        assert await (await client.get("/hello")).json() == {"version": 2}
    finally:
        stop.set()
        await poller
    assert statuses and set(statuses) == {200}


async def test_symlink_out_of_the_plugins_folder_is_refused(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text(version(1))
    project: Project = plughost_project({"hello": version(1)}, enabled=["hello", "linked"])
    (project.plugins_dir / "linked.py").symlink_to(outside)
    client = await plughost_client(project, reload=True)
    status = host_of(client).status()["linked"]
    assert "is a symlink to" in (status.error or "")
    assert "outside the plugins folder" in (status.error or "")
    assert (await client.get("/hello")).status == 200
    # Editing the file behind the link loads nothing either.
    batches = reloader_of(client).batches
    outside.write_text(version(2))
    await edit_and_wait(client, project.plugins_dir / "hello.py", version(3), "hello")
    assert host_of(client).status()["linked"].version == status.version
    assert reloader_of(client).batches >= batches + 1
