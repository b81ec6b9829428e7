"""How the CLI talks: errors, exit codes, terminals, start-up cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _support import run_in_terminal
from click.testing import CliRunner

from plughost.cli.commands import cli
from plughost.errors import ConfigError
from plughost.testing import Project, ProjectFactory

HELLO = """
from plughost import BasePlugin


class Hello(BasePlugin):
    route_path = "hello"

    def request_handler(self, **args):
        return {}
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGHOST_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def project(plughost_project: ProjectFactory) -> Project:
    site: Project = plughost_project({"hello": HELLO})
    return site


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "new", "run", "plugins", "check", "routes"):
        assert f"\n  {command} " in result.stdout
    assert "PLUGHOST_CONFIG" in result.stdout
    plugins = CliRunner().invoke(cli, ["plugins", "--help"])
    for command in ("list", "show", "enable", "disable", "set", "unset"):
        assert f"\n  {command} " in plugins.stdout


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("plughost, version ")


def test_usage_error_exits_2(project: Project) -> None:
    result = CliRunner().invoke(cli, ["--config", str(project.config_path), "plugins", "shwo"])
    assert result.exit_code == 2
    assert "No such command 'shwo'" in result.stderr
    assert result.stdout == ""


def test_user_error_is_one_line_and_a_hint_on_stderr(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"), "plugins", "list"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {str(tmp_path / 'none.toml')!r} not found",
        "  hint: create a project with `plughost init`, or point --config at one",
    ]
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.toml")
    result = CliRunner().invoke(cli, ["--config", missing, "--debug", "plugins", "list"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)


def test_config_from_the_environment(project: Project) -> None:
    result = CliRunner().invoke(
        cli, ["plugins", "list", "--json"], env={"PLUGHOST_CONFIG": str(project.config_path)}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config"] == str(project.config_path)


# -- subprocesses: what a person's terminal and a fresh interpreter see --------------

_IMPORTS = """
import json, sys
from plughost.cli.commands import cli
try:
    cli.main(sys.argv[1:], prog_name="plughost")
except SystemExit:
    pass
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"aiohttp", "watchfiles", "yarl"})
print(json.dumps(loaded), file=sys.stderr)
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": ""}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [("--help",), ("plugins", "list"), ("plugins", "list", "--json"), ("plugins", "--help")],
)
def test_fast_commands_do_not_import_the_server(project: Project, args: tuple[str, ...]) -> None:
    process = _python(_IMPORTS, "--config", str(project.config_path), *args)
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stderr.splitlines()[-1]) == []


def test_terminal_gets_a_coloured_table(project: Project) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm-256color"
    output = run_in_terminal(["--config", str(project.config_path), "plugins", "list"], env)
    assert b"\x1b[" in output
    assert "─".encode() in output
    assert b"hello" in output


def test_no_color_on_a_terminal_is_plain(project: Project) -> None:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color"}
    output = run_in_terminal(["--config", str(project.config_path), "plugins", "list"], env)
    assert b"\x1b[" not in output
    assert "─".encode() not in output
    assert output.decode().splitlines()[0].split() == [
        "NAME",
        "ENABLED",
        "KIND",
        "ROUTES",
        "PARAMS",
        "STATUS",
    ]


def test_run_without_a_config_says_how_to_make_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "plughost.toml"), "run"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1] == (
        "  hint: create a project with `plughost init`, or point --config at one"
    )


def test_run_refuses_a_bad_port(project: Project) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(project.config_path), "run", "--port", "70000"]
    )
    assert result.exit_code == 2
    assert "70000 is not in the range 0<=x<=65535" in result.stderr
