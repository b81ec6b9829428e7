"""No module file whose real path is outside the plugins folder is ever imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from plughost.cli.commands import cli
from plughost.testing import ClientFactory, Project, ProjectFactory

USES_HELPER = """
import plughost
from ._shared import VALUE

@plughost.route("/value")
async def value():
    return {"value": VALUE}
"""

PACKAGE_INIT = """
import plughost
from .sub import VALUE

@plughost.route("/pkg")
async def pkg():
    return {"value": VALUE}
"""

OUTSIDE = """
import pathlib
pathlib.Path(__file__).with_name("ran").write_text("imported")
VALUE = "outside"
"""


def _outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    module = folder / "module.py"
    module.write_text(OUTSIDE)
    return module


@pytest.fixture
def linked_helper(plughost_project: ProjectFactory, tmp_path: Path) -> Project:
    project = plughost_project({"user": USES_HELPER})
    (project.plugins_dir / "_shared.py").symlink_to(_outside(tmp_path))
    return project


@pytest.fixture
def linked_submodule(plughost_project: ProjectFactory, tmp_path: Path) -> Project:
    project = plughost_project({"pkg/__init__.py": PACKAGE_INIT})
    (project.plugins_dir / "pkg" / "sub.py").symlink_to(_outside(tmp_path))
    return project


@pytest.mark.parametrize("kind", ["linked_helper", "linked_submodule"])
@pytest.mark.parametrize(
    "command", [["check"], ["routes"], ["plugins", "show", "{name}"], ["plugins", "list"]]
)
def test_the_cli_never_imports_a_module_linked_from_outside(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, command: list[str]
) -> None:
    project: Project = request.getfixturevalue(kind)
    name = "user" if kind == "linked_helper" else "pkg"
    args = [part.format(name=name) for part in command]
    result = CliRunner().invoke(cli, ["--config", str(project.config_path), *args])
    assert not (tmp_path / "outside" / "ran").exists()
    if command[0] == "check":
        assert result.exit_code == 1
        assert "is a symlink to" in result.output
        assert "outside the plugins folder" in result.output


@pytest.mark.parametrize("kind", ["linked_helper", "linked_submodule"])
async def test_the_server_refuses_a_module_linked_from_outside(
    request: pytest.FixtureRequest, plughost_client: ClientFactory, tmp_path: Path, kind: str
) -> None:
    project: Project = request.getfixturevalue(kind)
    client = await plughost_client(project)
    name = "user" if kind == "linked_helper" else "pkg"
    status = client.plughost.status()[name]  # type: ignore[attr-defined]
    assert status.state.value == "error"
    assert "is a symlink to" in (status.error or "")
    assert "outside the plugins folder" in (status.error or "")
    assert not (tmp_path / "outside" / "ran").exists()


def test_a_helper_linked_inside_the_folder_is_fine(
    plughost_project: ProjectFactory, tmp_path: Path
) -> None:
    project = plughost_project({"user": USES_HELPER})
    (project.plugins_dir / "_real.py").write_text('VALUE = "inside"\n')
    (project.plugins_dir / "_shared.py").symlink_to(project.plugins_dir / "_real.py")
    result = CliRunner().invoke(cli, ["--config", str(project.config_path), "check", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)


HELLO = (
    'import plughost\n\n@plughost.route("/hello")\nasync def hello():\n    return {"v": VERSION}\n'
)


async def test_a_symlinked_folder_out_of_the_plugins_folder_is_never_watched(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio
    import logging

    from plughost.testing import host_of, wait_for_load

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    project = plughost_project(
        {"hello": "VERSION = 1\n" + HELLO, "pkg/__init__.py": "VERSION = 1\n"}, enabled=["hello"]
    )
    (project.plugins_dir / "pkg" / "linked").symlink_to(outside, target_is_directory=True)
    with caplog.at_level(logging.INFO, logger="plughost.reload"):
        client = await plughost_client(project, reload=True)
        assert "not watched" in caplog.text
        (outside / "inside_the_link.py").write_text("x = 1\n")
        waiter = asyncio.create_task(wait_for_load(host_of(client), "hello", ok=True))
        await asyncio.sleep(0.3)
        (project.plugins_dir / "hello.py").write_text("VERSION = 2\n" + HELLO)
        await waiter
        # Edits in the plugins folder itself are still seen.
        waiter = asyncio.create_task(wait_for_load(host_of(client), "hello", ok=True))
        await asyncio.sleep(0.3)
        (project.plugins_dir / "hello.py").write_text("VERSION = 3\n" + HELLO)
        await waiter
    assert await (await client.get("/hello")).json() == {"v": 3}
    assert "inside_the_link" not in caplog.text


def test_watch_roots_leave_out_links_out_of_the_folder(tmp_path: Path) -> None:
    from plughost.reload.touched import watch_roots

    plugins = tmp_path / "plugins"
    (plugins / "pkg" / "deep").mkdir(parents=True)
    (plugins / "other").mkdir()
    (tmp_path / "outside").mkdir()
    assert watch_roots(plugins) == ([plugins], [])
    (plugins / "pkg" / "away").symlink_to(tmp_path / "outside", target_is_directory=True)
    (plugins / "near").symlink_to(plugins / "other", target_is_directory=True)
    recursive, alone = watch_roots(plugins)
    assert sorted(alone) == [plugins, plugins / "pkg"]
    assert sorted(recursive) == [plugins / "other", plugins / "pkg" / "deep"]
