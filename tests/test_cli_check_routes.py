"""``plughost check`` and ``plughost routes``: the commands that import plugins."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from plughost.cli.commands import cli
from plughost.testing import Project, ProjectFactory

HELLO = """
from dataclasses import dataclass

from plughost import BasePlugin


@dataclass
class Params:
    greeting: str = "Hello"


class Hello(BasePlugin):
    route_path = "hello"

    def request_handler(self, **args):
        return {"message": self.params.greeting}
"""

TIMING = """
import plughost


class Timing:
    name = "timing"
    api = 2

    def apply(self, callback, route):
        return callback


def setup(host):
    host.install(Timing())


def start_request(ctx):
    pass


@plughost.route("/items/{id}", method="POST")
async def item(id):
    return {"id": id}
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGHOST_CONFIG", raising=False)


@pytest.fixture
def project(plughost_project: ProjectFactory) -> Project:
    site: Project = plughost_project({"hello": HELLO, "timing": TIMING})
    return site


def invoke(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config_path), *args])


def test_check_ok(project: Project) -> None:
    result = invoke(project, "check")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"ok: {project.config_path} is valid; 2 enabled plugins load\n"


def test_check_json_ok(project: Project) -> None:
    result = invoke(project, "check", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "config": str(project.config_path),
        "ok": True,
        "problems": [],
        "warnings": [],
        "plugins": [
            {"name": "hello", "ok": True, "error": None},
            {"name": "timing", "ok": True, "error": None},
        ],
    }


def test_check_reports_every_problem(plughost_project: ProjectFactory) -> None:
    project: Project = plughost_project(
        {"hello": HELLO, "broken": "import no_such_module_anywhere\n"},
        enabled=["hello", "broken", "gone"],
        params={"hello": {"greeting": 42}},
    )
    result = invoke(project, "check", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    problems = {p["plugin"]: p["message"] for p in data["problems"]}
    assert set(problems) == {"hello", "broken", "gone"}
    assert "plugins.hello.params.greeting" in problems["hello"]
    assert "no_such_module_anywhere" in problems["broken"]
    assert problems["gone"] == f"enabled, but not found in {project.plugins_dir}"

    table = invoke(project, "check")
    assert table.exit_code == 1
    assert table.stdout.splitlines()[0].split() == ["PLUGIN", "PROBLEM"]
    assert table.stderr == f"Error: 3 problems in {project.config_path}\n"


def test_check_broken_toml(project: Project) -> None:
    project.config_path.write_text("[server]\nport = 80 80\n")
    result = invoke(project, "check")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {project.config_path}:2:")
    result = invoke(project, "check", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["plugins"] == []
    assert data["problems"][0]["plugin"] is None
    assert data["problems"][0]["message"].startswith(f"{project.config_path}:2:")


def test_routes_table(project: Project) -> None:
    result = invoke(project, "routes")
    assert result.exit_code == 0, result.output
    lines = [line.split(None, 4) for line in result.stdout.splitlines()]
    assert lines == [
        ["METHOD", "RULE", "PLUGIN", "WRAPPERS", "HOOKS"],
        ["GET", "/hello", "hello", "timing", "timing: start_request"],
        ["POST", "/hello", "hello", "timing", "timing: start_request"],
        ["GET", "/hello/{subpath:.*}", "hello", "timing", "timing: start_request"],
        ["POST", "/hello/{subpath:.*}", "hello", "timing", "timing: start_request"],
        ["POST", "/items/{id}", "timing", "timing", "timing: start_request"],
    ]


def test_routes_json(project: Project) -> None:
    result = invoke(project, "routes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["config"] == str(project.config_path)
    assert data["errors"] == []
    first = data["routes"][0]
    assert set(first) == {"method", "rule", "plugin", "wrappers", "hooks"}
    assert (first["method"], first["rule"], first["plugin"], first["wrappers"]) == (
        "GET",
        "/hello",
        "hello",
        ["timing"],
    )
    assert first["hooks"]["start_request"] == ["timing"]
    assert [(r["method"], r["rule"]) for r in data["routes"]] == [
        ("GET", "/hello"),
        ("POST", "/hello"),
        ("GET", "/hello/{subpath:.*}"),
        ("POST", "/hello/{subpath:.*}"),
        ("POST", "/items/{id}"),
    ]


def test_routes_with_a_broken_plugin(project: Project) -> None:
    project.write_plugin("timing", "raise RuntimeError('nope')\n")
    result = invoke(project, "routes")
    assert result.exit_code == 1
    assert "/hello" in result.stdout
    assert result.stderr.startswith("warning: timing: ")
    assert "nope" in result.stderr


VALIDATOR = """
class MissingSchemaError(Exception):
    pass


class Validator:
    name = "validator"
    api = 2

    def apply(self, callback, route):
        schema = route.config.get("schemas.body")
        if schema is None:
            return callback
        if not isinstance(schema, dict):
            raise MissingSchemaError("Missing Schema class")

        def wrapper(*args, **kwargs):
            return callback(*args, **kwargs)

        return wrapper


def setup(host):
    host.install(Validator())
"""

ITEMS = """
import plughost


@plughost.route("/items", method="POST", schemas={"body": "not a schema"})
def add_item(**item):
    return item
"""


def test_a_wrapper_that_cannot_apply_fails_check_and_routes(
    plughost_project: ProjectFactory,
) -> None:
    project: Project = plughost_project({"validator": VALIDATOR, "items": ITEMS})
    expected = (
        "wrapper 'validator' (installed by plugin 'validator') cannot wrap POST /items "
        "of plugin 'items': apply() raised MissingSchemaError: Missing Schema class"
    )
    result = invoke(project, "check", "--json")
    assert result.exit_code == 1
    problems = {p["plugin"]: p["message"] for p in json.loads(result.stdout)["problems"]}
    assert list(problems) == ["items"]
    assert expected in problems["items"]

    routes = invoke(project, "routes")
    assert routes.exit_code == 1
    assert routes.stderr.startswith("warning: items: ")
    assert expected in routes.stderr


MISSPELT_HOOK = """
def check_access(context):
    pass


def proces_input(context):
    pass
"""


def test_check_warns_about_a_misspelt_hook_and_passes(plughost_project: ProjectFactory) -> None:
    project: Project = plughost_project({"audit": MISSPELT_HOOK})
    warning = "'proces_input' is not a hook; did you mean 'process_input'?"
    result = invoke(project, "check")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"warning: audit: {warning}\n"
    data = json.loads(invoke(project, "check", "--json").stdout)
    assert data["ok"] is True
    assert data["warnings"] == [{"plugin": "audit", "message": warning}]


ROUTE_ONLY = """
import plughost

@plughost.route("/echo")
async def echo(word: str = ""):
    return {"word": word}
"""


def test_check_warns_that_auth_type_does_not_protect_route_functions(
    plughost_project: ProjectFactory,
) -> None:
    project: Project = plughost_project({"echo": ROUTE_ONLY}, config='[auth]\napikey = "k"\n')
    text = project.config_path.read_text()
    project.write_config(text.replace("[plugins.echo]\n", '[plugins.echo]\nauth_type = "global"\n'))
    result = invoke(project, "check")
    assert result.exit_code == 0, result.output
    assert "auth_type = 'global' protects BasePlugin endpoints only" in result.stderr
    assert "@plughost.route(..., auth='global')" in result.stderr
