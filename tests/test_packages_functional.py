"""Plugins from installed packages: the example package, pip-installed for real.

examples/package-plugin is installed with pip (offline, from a copy) into a folder
of its own, which each test puts on ``sys.path`` the way site-packages is; the
command line and the server then find its plugin through its entry point.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _packaging import activate, copy_example, make_distribution, pip_install
from click.testing import CliRunner, Result

from plughost.cli.commands import cli
from plughost.testing import (
    ClientFactory,
    Project,
    ProjectFactory,
    host_of,
    reloader_of,
    wait_for_load,
)

HELLO = """
import plughost

@plughost.route("/hello")
async def hello():
    return "hello from the folder"
"""

FOLDER_SHOUT = """
import plughost

@plughost.route("/shout")
async def shout(text="hello"):
    return {"shout": "from the folder"}
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/package-plugin installed (not editable) into a site folder."""
    root = tmp_path_factory.mktemp("installed")
    source = copy_example(root / "source")
    pip_install("--target", str(root / "site"), str(source))
    return root / "site"


@pytest.fixture(scope="module")
def editable(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """examples/package-plugin installed with ``pip install -e``: (site folder, source copy)."""
    root = tmp_path_factory.mktemp("editable")
    source = copy_example(root / "source")
    pip_install("--target", str(root / "site"), "--editable", str(source))
    return root / "site", source


@pytest.fixture
def shout(installed: Path) -> Iterator[Path]:
    with activate(installed):
        yield installed


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGHOST_CONFIG", raising=False)
    monkeypatch.delenv("PLUGHOST_DISABLE_PACKAGE_PLUGINS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def invoke(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config_path), *args])


def rows(project: Project) -> dict[str, Any]:
    result = invoke(project, "plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)["plugins"]}


# -- listed, never imported ---------------------------------------------------------


def test_listed_with_its_source_without_being_imported(
    shout: Path, plughost_project: ProjectFactory
) -> None:
    project = plughost_project({"hello": HELLO})
    listed = rows(project)
    assert list(listed) == ["hello", "shout"]
    row = listed["shout"]
    assert row["enabled"] is False
    assert row["status"] == "unconfigured"
    assert row["source"] == {
        "type": "package",
        "distribution": "plughost-shout",
        "version": "1.0.0",
        "editable": False,
        "module": "plughost_shout",
        "path": str(shout / "plughost_shout" / "__init__.py"),
    }
    assert row["routes"] == [{"method": "GET", "rule": "/shout"}]
    assert listed["hello"]["source"] == {
        "type": "folder",
        "path": str(project.plugins_dir / "hello.py"),
    }
    table = invoke(project, "plugins", "list")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        *("NAME", "ENABLED", "SOURCE", "KIND", "ROUTES", "PARAMS", "STATUS")
    ]
    assert lines[1].split()[:3] == ["hello", "yes", "plugins/"]
    assert "plughost-shout 1.0.0" in lines[2]
    shown = invoke(project, "plugins", "show", "shout", "--json")
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.stdout)
    assert view["params"] == [
        {
            "name": "suffix",
            "type": "str",
            "default": "'!'",
            "value": None,
            "set": False,
            "declared": True,
        }
    ]
    assert view["source"]["distribution"] == "plughost-shout"
    assert view["imported"] is False
    assert not any(name.startswith("plughost_shout") for name in sys.modules)


def test_discovery_finds_what_importlib_metadata_finds(editable: tuple[Path, Path]) -> None:
    from importlib import metadata

    from plughost.packages import ENTRY_POINT_GROUP, installed

    with activate(editable[0]):
        expected = {
            (entry.name, entry.value, entry.dist.name if entry.dist else None)
            for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)
        }
        found = installed()
    assert ("shout", "plughost_shout", "plughost-shout") in expected
    assert {(p.name, p.module, p.distribution.name) for p in found["shout"]} <= expected
    assert {(p.name, p.module, p.distribution.name) for ps in found.values() for p in ps} == (
        expected
    )
    assert found["shout"][0].distribution.version == "1.0.0"
    assert found["shout"][0].distribution.editable is True


async def test_disable_variable_hides_packaged_plugins(
    shout: Path,
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = plughost_project({"hello": HELLO})
    assert "shout" in rows(project)
    monkeypatch.setenv("PLUGHOST_DISABLE_PACKAGE_PLUGINS", "1")
    assert list(rows(project)) == ["hello"]
    result = invoke(project, "plugins", "enable", "shout")
    assert result.exit_code == 1
    assert "no plugin named 'shout'" in result.stderr

    project = plughost_project({"hello": HELLO}, enabled=["hello", "shout"])
    client = await plughost_client(project)
    assert host_of(client).status()["shout"].state == "missing"
    assert (await client.get("/shout")).status == 404
    status = await (await client.get("/_plughost/status")).json()
    assert status["packaged"] == []


# -- enabled through the CLI, served ------------------------------------------------


async def test_enabled_through_the_cli_and_served(
    shout: Path, plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"hello": HELLO})
    result = invoke(project, "plugins", "enable", "shout")
    assert result.exit_code == 0, result.output
    assert "enabled shout" in result.stdout
    assert "[plugins.shout]\nenabled = true\n" in project.config_path.read_text()
    # The plugin's Params, read from the package's source, is checked before writing.
    refused = invoke(project, "plugins", "set", "shout", "sufix=3")
    assert refused.exit_code == 1
    assert "plugins.shout.params.sufix: the plugin's Params declares no 'sufix'" in refused.stderr
    assert "did you mean 'suffix'?" in refused.stderr
    assert invoke(project, "plugins", "set", "shout", "suffix=?!").exit_code == 0
    assert rows(project)["shout"]["status"] == "enabled"

    client = await plughost_client(project)
    resp = await client.get("/shout", params={"text": "hi"})
    assert resp.status == 200
    assert await resp.json() == {"shout": "HI?!"}
    assert (await client.get("/hello")).status == 200
    status = await (await client.get("/_plughost/status")).json()
    assert status["plugins"]["shout"]["state"] == "loaded"
    assert status["plugins"]["shout"]["source"]["distribution"] == "plughost-shout"
    assert status["plugins"]["hello"]["source"]["type"] == "folder"
    assert status["packaged"] == [
        {
            "name": "shout",
            "distribution": "plughost-shout",
            "version": "1.0.0",
            "editable": False,
            "module": "plughost_shout",
            "enabled": True,
        }
    ]

    result = invoke(project, "plugins", "disable", "shout")
    assert result.exit_code == 0, result.output
    assert "enabled = false" in project.config_path.read_text()


async def test_a_broken_package_plugin_says_where(
    tmp_path: Path, plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    plugins = {"broken": "broken_mod", "bad-name": "broken_mod", "gone": "no_such_module"}
    folder = make_distribution(tmp_path / "broken", "broken-plugin", plugins, "broken_mod")
    (folder / "broken_mod.py").write_text("import plughost\n\nraise RuntimeError('boom')\n")
    pip_install("--target", str(tmp_path / "site"), str(folder))
    with activate(tmp_path / "site"):
        project = plughost_project({}, enabled=["broken", "gone"])
        listed = rows(project)
        assert listed["bad-name"]["status"] == "error"
        assert (
            "declares plugin 'bad-name', which is not a plugin name" in listed["bad-name"]["error"]
        )
        assert listed["gone"]["status"] == "error"
        assert "'no_such_module', which is not installed" in listed["gone"]["error"]
        assert listed["broken"]["status"] == "enabled"  # read from source, not run

        client = await plughost_client(project)
        status = host_of(client).status()
        assert status["broken"].state == "error"
        assert status["broken"].error is not None
        assert "broken_mod.py:3: RuntimeError: boom" in status["broken"].error
        assert status["gone"].state == "error"
        assert "broken-plugin 2.0.0" in str(status["gone"].error)


async def test_a_plugin_in_a_namespace_package_leaves_the_namespace_alone(
    tmp_path: Path, plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    folder = tmp_path / "acme-shout"
    (folder / "acme" / "shout").mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "acme-shout"\nversion = "0.3.0"\n'
        '[tool.setuptools.packages.find]\ninclude = ["acme*"]\nnamespaces = true\n'
        '[project.entry-points."plughost.plugins"]\nacme_shout = "acme.shout"\n'
    )
    (folder / "acme" / "shout" / "__init__.py").write_text(
        "import plughost\n\n@plughost.route('/acme')\nasync def acme():\n    return 'acme'\n"
    )
    # Another distribution's module in the same namespace, already in use.
    (tmp_path / "other" / "acme").mkdir(parents=True)
    (tmp_path / "other" / "acme" / "other.py").write_text("VALUE = 1\n")
    pip_install("--target", str(tmp_path / "site"), str(folder))
    with activate(tmp_path / "site"):
        sys.path.append(str(tmp_path / "other"))
        import acme.other  # type: ignore[import-not-found]

        project = plughost_project({}, enabled=["acme_shout"])
        row = rows(project)["acme_shout"]
        assert row["source"]["module"] == "acme.shout"
        assert row["routes"] == [{"method": "GET", "rule": "/acme"}]
        client = await plughost_client(project)
        assert await (await client.get("/acme")).text() == "acme"
        assert sys.modules["acme.other"] is acme.other
        del sys.modules["acme.other"], sys.modules["acme"]


# -- one name, two sources ----------------------------------------------------------


async def test_a_name_from_the_folder_and_a_package_is_an_error_naming_both(
    shout: Path, plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"shout": FOLDER_SHOUT}, enabled=[])
    folder_file = str(project.plugins_dir / "shout.py")
    row = rows(project)["shout"]
    assert row["status"] == "conflict"
    assert folder_file in row["error"]
    assert "plughost-shout 1.0.0" in row["error"]

    before = project.config_path.read_text()
    refused = invoke(project, "plugins", "enable", "shout")
    assert refused.exit_code == 1
    assert folder_file in refused.stderr
    assert "the distribution plughost-shout 1.0.0" in refused.stderr
    assert "--source" in refused.stderr
    assert project.config_path.read_text() == before

    project.write_config("[plugins.shout]\nenabled = true\n")
    check = await asyncio.to_thread(invoke, project, "check")
    assert check.exit_code == 1
    assert folder_file in check.output and "plughost-shout 1.0.0" in check.output
    client = await plughost_client(project)
    state = host_of(client).status()["shout"]
    assert state.state == "error"
    assert state.error is not None and folder_file in state.error
    assert (await client.get("/shout")).status != 200

    chosen = invoke(project, "plugins", "enable", "shout", "--source", "package")
    assert chosen.exit_code == 0, chosen.output
    assert 'source = "package"' in project.config_path.read_text()
    client = await plughost_client(project)
    assert await (await client.get("/shout")).json() == {"shout": "HELLO!"}

    project.write_config('[plugins.shout]\nenabled = true\nsource = "folder"\n')
    client = await plughost_client(project)
    assert await (await client.get("/shout")).json() == {"shout": "from the folder"}


def test_a_name_from_two_packages_is_an_error_naming_both(
    shout: Path, tmp_path: Path, plughost_project: ProjectFactory
) -> None:
    other = make_distribution(
        tmp_path / "other", "other-shout", {"shout": "other_shout"}, "other_shout"
    )
    (other / "other_shout.py").write_text("import plughost\n")
    pip_install("--target", str(tmp_path / "site"), str(other))
    with activate(tmp_path / "site"):
        project = plughost_project({}, enabled=[])
        row = rows(project)["shout"]
        assert row["status"] == "conflict"
        assert "plughost-shout 1.0.0" in row["error"]
        assert "other-shout 2.0.0" in row["error"]
        project.write_config('[plugins.shout]\nenabled = true\nsource = "package"\n')
        check = invoke(project, "check")
        assert check.exit_code == 1
        assert "plughost-shout 1.0.0" in check.output and "other-shout 2.0.0" in check.output
        assert "pip uninstall" in check.output


# -- reload: editable installs are watched, others are not --------------------------


async def test_an_edit_to_an_editable_install_reloads_the_plugin(
    editable: tuple[Path, Path], plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    site_dir, source = editable
    with activate(site_dir):
        project = plughost_project({}, enabled=["shout"])
        client = await plughost_client(project, reload=True)
        host = host_of(client)
        package = source / "src" / "plughost_shout"
        assert reloader_of(client).packages.roots == {package.absolute(): frozenset({"shout"})}
        assert await (await client.get("/shout", params={"text": "hi"})).json() == {"shout": "HI!"}

        words = package / "words.py"
        words.write_text(words.read_text().replace("text.upper()", "text.upper() * 2"))
        result = await wait_for_load(host, "shout", timeout=20)
        assert result.ok, result.error
        assert await (await client.get("/shout", params={"text": "hi"})).json() == {
            "shout": "HIHI!"
        }

        # A broken edit keeps the last good version serving.
        words.write_text("def loud(:\n")
        failed = await wait_for_load(host, "shout", timeout=20)
        assert not failed.ok
        assert "words.py" in str(failed.error)
        assert await (await client.get("/shout", params={"text": "hi"})).json() == {
            "shout": "HIHI!"
        }


async def test_plughost_reload_serves_a_reinstalled_package(
    tmp_path: Path, plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    source = copy_example(tmp_path / "source")
    site_dir = tmp_path / "site"
    pip_install("--target", str(site_dir), str(source))
    with activate(site_dir):
        project = plughost_project({}, enabled=["shout"])
        client = await plughost_client(project)
        assert await (await client.get("/shout", params={"text": "hi"})).json() == {"shout": "HI!"}

        words = source / "src" / "plughost_shout" / "words.py"
        words.write_text(words.read_text().replace("text.upper()", "text.title()"))
        pyproject = source / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('"1.0.0"', '"1.1.0"'))
        # An upgrade in an environment removes the old version's metadata;
        # pip install --target does not, so do that part by hand.
        shutil.rmtree(site_dir / "plughost_shout-1.0.0.dist-info")
        pip_install("--target", str(site_dir), "--upgrade", str(source))
        # Not watched: the new version serves once `plughost reload` asks for it.
        assert await (await client.get("/shout", params={"text": "hi"})).json() == {"shout": "HI!"}
        reload = await client.post("/_plughost/reload", headers={"X-Plughost-Reload": "1"})
        report = await reload.json()
        assert report["ok"], report
        assert [p["name"] for p in report["plugins"]] == ["shout"]
        assert await (await client.get("/shout", params={"text": "hi"})).json() == {"shout": "Hi!"}
        status = await (await client.get("/_plughost/status")).json()
        assert status["plugins"]["shout"]["source"]["version"] == "1.1.0"


async def test_a_regular_install_is_not_watched(
    shout: Path, plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"hello": HELLO}, enabled=["hello", "shout"])
    client = await plughost_client(project, reload=True)
    assert host_of(client).status()["shout"].state == "loaded"
    assert reloader_of(client).packages.roots == {}
