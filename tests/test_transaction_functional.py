"""The load transaction: several plugins staged, then committed together or not at all."""

from __future__ import annotations

import pytest

from plughost.errors import ConfigError
from plughost.host import PluginState
from plughost.reload.change import ChangeRequest, apply_change
from plughost.testing import ClientFactory, ProjectFactory, host_of


def _plugin(path: str, answer: str) -> str:
    return f"""
import plughost

@plughost.route("{path}")
async def answer():
    return "{answer}"
"""


async def test_staged_plugins_commit_together(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"a": _plugin("/a", "a1"), "b": _plugin("/b", "b1")})
    client = await plughost_client(project)
    host = host_of(client)
    project.write_plugin("a", _plugin("/a", "a2"))
    project.write_plugin("b", _plugin("/b", "b2"))
    async with host.transaction() as transaction:
        await transaction.stage("a")
        await transaction.stage("b")
        # Staged, not live.
        assert await (await client.get("/a")).text() == "a1"
        assert await transaction.prepare()
        results = transaction.commit()
    assert [(r.name, r.ok) for r in results] == [("a", True), ("b", True)]
    assert await (await client.get("/a")).text() == "a2"
    assert await (await client.get("/b")).text() == "b2"
    assert host.status()["a"].version == 2


async def test_one_failure_aborts_every_staged_plugin(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"a": _plugin("/a", "a1"), "b": _plugin("/b", "b1")})
    client = await plughost_client(project)
    host = host_of(client)
    digest = host.status()["a"].digest
    project.write_plugin("a", _plugin("/a", "a2"))
    project.write_plugin("b", "def broken(:\n")
    async with host.transaction() as transaction:
        assert (await transaction.stage("a")).ok
        assert not (await transaction.stage("b")).ok
        assert not await transaction.prepare()
        results = await transaction.abort("b failed")
    assert [(r.name, r.ok) for r in results] == [("a", False), ("b", False)]
    assert await (await client.get("/a")).text() == "a1"
    assert await (await client.get("/b")).text() == "b1"
    status = host.status()
    assert status["a"].state is PluginState.LOADED and status["a"].digest == digest
    assert status["a"].error == "not applied: b failed"
    assert "SyntaxError" in (status["b"].error or "")


async def test_a_route_conflict_fails_the_plugin_that_brings_it(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"a": _plugin("/a", "a1"), "b": _plugin("/b", "b1")})
    client = await plughost_client(project)
    host = host_of(client)
    project.write_plugin("b", _plugin("/a", "b2"))
    async with host.transaction() as transaction:
        await transaction.stage("a")
        await transaction.stage("b")
        assert not await transaction.prepare()
        assert list(transaction.failures) == ["b"]
        assert "GET /a is claimed by" in str(transaction.failures["b"])
        await transaction.abort("b conflicts")
    assert await (await client.get("/b")).text() == "b1"


async def test_a_transaction_left_by_an_exception_aborts(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"a": _plugin("/a", "a1")})
    client = await plughost_client(project)
    host = host_of(client)
    project.write_plugin("a", _plugin("/a", "a2"))
    try:
        async with host.transaction() as transaction:
            await transaction.stage("a")
            raise RuntimeError("the deploy was interrupted")
    except RuntimeError:
        pass
    assert transaction.finished
    assert await (await client.get("/a")).text() == "a1"
    # The lock is free again.
    assert (await host.load("a")).ok
    assert await (await client.get("/a")).text() == "a2"


async def test_a_config_edit_applies_as_one_change(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    greet = """
import plughost

def setup(host):
    host.route("/a")(lambda: host.params.get("word", "none"))
"""
    project = plughost_project({"a": greet, "b": _plugin("/b", "b1")})
    client = await plughost_client(project)
    host = host_of(client)
    text = project.config_path.read_text()
    text = text.replace("[plugins.b]\nenabled = true", "[plugins.b]\nenabled = false")
    project.config_path.write_text(text + '\n[plugins.a.params]\nword = "hi"\n')
    outcomes = await apply_change(host, ChangeRequest(everything=True))
    assert sorted((o.name, o.outcome) for o in outcomes) == [("a", "reloaded"), ("b", "unloaded")]
    assert await (await client.get("/a")).text() == "hi"
    assert (await client.get("/b")).status == 404
    assert host.status()["b"].state is PluginState.DISABLED

    # A config that does not parse changes nothing.
    project.config_path.write_text("[plugins.a\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        await apply_change(host, ChangeRequest(everything=True))
    assert await (await client.get("/a")).text() == "hi"
