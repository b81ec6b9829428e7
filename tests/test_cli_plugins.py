"""``plughost plugins list|show|enable|disable|set|unset`` through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from plughost.cli.commands import cli
from plughost.config import load_config
from plughost.testing import Project, ProjectFactory

BLOG = """
from dataclasses import dataclass

from plughost import BasePlugin


@dataclass
class Params:
    limit: int = 10
    title: str = "Blog"
    ratio: float = 0.5


class Blog(BasePlugin):
    route_path = "blog"

    def request_handler(self, **args):
        return {"limit": self.params.limit}
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


@plughost.route("/timing/stats", method=["GET", "POST"])
async def stats():
    return {}
"""

AUDIT = """
def start_request(ctx):
    pass


def end_request(ctx):
    pass
"""

# A plugin that must never run: it is on disk but not enabled.
TRAP = """
from pathlib import Path

Path(__file__).with_name("TRAP_RAN").write_text("imported")


@plughost.route("/trap")
def trap():
    return {}
"""

CONFIG = """\
# The site.
[server]
port = 1  # nothing listens here

[plugins.blog]   # the blog
enabled = true

[plugins.blog.params]
limit = 5  # five per page

[plugins.timing]
enabled = true

[plugins.gone]  # deleted from disk
enabled = true

[plugins.audit]
enabled = false
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGHOST_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def project(plughost_project: ProjectFactory) -> Project:
    site: Project = plughost_project(
        {"blog": BLOG, "timing": TIMING, "audit": AUDIT, "trap": TRAP}, enabled=[]
    )
    site.write_config(CONFIG)
    return site


def invoke(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config_path), *args])


# -- list ---------------------------------------------------------------------------


def test_list_plain_table(project: Project) -> None:
    result = invoke(project, "plugins", "list")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "NAME    ENABLED  KIND      ROUTES                                 PARAMS   STATUS",
        "blog    yes      endpoint  GET /blog, POST /blog                  limit=5  enabled",
        "timing  yes      wrapper   GET /timing/stats, POST /timing/stats  -        enabled",
        "gone    yes      -         -                                      -        missing",
        "audit   no       hooks     -                                      -        disabled",
        "trap    no       endpoint  GET /trap                              -        unconfigured",
    ]
    assert "\x1b[" not in result.stdout
    assert not (project.plugins_dir / "TRAP_RAN").exists()


def test_list_json_shape(project: Project) -> None:
    result = invoke(project, "plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == {
        "config": str(project.config_path),
        "plugins_dir": str(project.plugins_dir),
        "server": {"url": "http://127.0.0.1:1", "live": False, "workers": None},
        "plugins": [
            {
                "name": "blog",
                "enabled": True,
                "in_config": True,
                "on_disk": True,
                "path": str(project.plugins_dir / "blog.py"),
                "source": {"type": "folder", "path": str(project.plugins_dir / "blog.py")},
                "kind": "endpoint",
                "routes": [{"method": "GET", "rule": "/blog"}, {"method": "POST", "rule": "/blog"}],
                "params": {"limit": 5},
                "status": "enabled",
                "error": None,
                "live": None,
            },
            {
                "name": "timing",
                "enabled": True,
                "in_config": True,
                "on_disk": True,
                "path": str(project.plugins_dir / "timing.py"),
                "source": {"type": "folder", "path": str(project.plugins_dir / "timing.py")},
                "kind": "wrapper",
                "routes": [
                    {"method": "GET", "rule": "/timing/stats"},
                    {"method": "POST", "rule": "/timing/stats"},
                ],
                "params": {},
                "status": "enabled",
                "error": None,
                "live": None,
            },
            {
                "name": "gone",
                "enabled": True,
                "in_config": True,
                "on_disk": False,
                "path": None,
                "source": None,
                "kind": None,
                "routes": [],
                "params": {},
                "status": "missing",
                "error": None,
                "live": None,
            },
            {
                "name": "audit",
                "enabled": False,
                "in_config": True,
                "on_disk": True,
                "path": str(project.plugins_dir / "audit.py"),
                "source": {"type": "folder", "path": str(project.plugins_dir / "audit.py")},
                "kind": "hooks",
                "routes": [],
                "params": {},
                "status": "disabled",
                "error": None,
                "live": None,
            },
            {
                "name": "trap",
                "enabled": False,
                "in_config": False,
                "on_disk": True,
                "path": str(project.plugins_dir / "trap.py"),
                "source": {"type": "folder", "path": str(project.plugins_dir / "trap.py")},
                "kind": "endpoint",
                "routes": [{"method": "GET", "rule": "/trap"}],
                "params": {},
                "status": "unconfigured",
                "error": None,
                "live": None,
            },
        ],
    }
    assert not (project.plugins_dir / "TRAP_RAN").exists()


def test_list_check_imports_enabled_plugins_only(project: Project) -> None:
    project.write_config(
        CONFIG.replace("[plugins.gone]  # deleted from disk\nenabled = true\n", "")
    )
    project.write_plugin("timing", TIMING + "\nraise RuntimeError('broken on purpose')\n")
    result = invoke(project, "plugins", "list", "--check", "--json")
    assert result.exit_code == 1
    rows = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    assert rows["blog"]["status"] == "ok"
    assert rows["timing"]["status"] == "error"
    assert "broken on purpose" in rows["timing"]["error"]
    assert rows["audit"]["status"] == "disabled"
    assert result.stderr == "Error: 1 enabled plugin failed to load\n"
    table = invoke(project, "plugins", "list", "--check")
    assert table.exit_code == 1
    warning, error = table.stderr.splitlines()
    assert warning.startswith("warning: timing: ") and "broken on purpose" in warning
    assert error == "Error: 1 enabled plugin failed to load"
    assert not (project.plugins_dir / "TRAP_RAN").exists()


def test_list_shows_a_syntax_error_without_importing(project: Project) -> None:
    project.write_plugin("audit", "def start_request(ctx):\n    return (\n")
    result = invoke(project, "plugins", "list", "--json")
    row = json.loads(result.stdout)["plugins"][3]
    assert row["kind"] is None
    assert row["error"].startswith(f"{project.plugins_dir / 'audit.py'}:2: ")


def test_list_empty_project(plughost_project: ProjectFactory) -> None:
    empty: Project = plughost_project({})
    result = invoke(empty, "plugins", "list")
    assert result.exit_code == 0
    assert "No plugins in" in result.stdout
    assert "plughost new NAME" in result.stdout


def test_list_no_color_has_no_escape_codes(project: Project) -> None:
    result = CliRunner().invoke(
        cli,
        ["--config", str(project.config_path), "plugins", "list"],
        env={"NO_COLOR": "1"},
        color=True,
    )
    assert "\x1b[" not in result.stdout
    assert "━" not in result.stdout and "─" not in result.stdout


# -- show ---------------------------------------------------------------------------


def test_show_disabled_plugin_reads_the_source(project: Project) -> None:
    result = invoke(project, "plugins", "show", "trap", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["imported"] is False
    assert data["section"] is None
    assert data["routes"] == [{"method": "GET", "rule": "/trap"}]
    assert not (project.plugins_dir / "TRAP_RAN").exists()


def test_show_enabled_plugin_json(project: Project) -> None:
    project.write_config(
        CONFIG.replace("[plugins.gone]  # deleted from disk\nenabled = true\n", "")
    )
    result = invoke(project, "plugins", "show", "blog", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "endpoint"
    assert data["imported"] is True
    assert data["status"] == "ok"
    assert data["section"] == {
        "enabled": True,
        "route_path": None,
        "auth_type": "none",
        "apikey": None,
        "apikey_env": None,
    }
    assert data["params"] == [
        {
            "name": "limit",
            "type": "int",
            "default": "10",
            "value": 5,
            "set": True,
            "declared": True,
        },
        {
            "name": "title",
            "type": "str",
            "default": "'Blog'",
            "value": None,
            "set": False,
            "declared": True,
        },
        {
            "name": "ratio",
            "type": "float",
            "default": "0.5",
            "value": None,
            "set": False,
            "declared": True,
        },
    ]
    methods = {(r["method"], r["rule"]): r["wrappers"] for r in data["routes"]}
    assert methods == {
        ("GET", "/blog"): ["timing"],
        ("POST", "/blog"): ["timing"],
        ("GET", "/blog/{subpath:.*}"): ["timing"],
        ("POST", "/blog/{subpath:.*}"): ["timing"],
    }


def test_show_table(project: Project) -> None:
    project.write_config(
        CONFIG.replace("[plugins.gone]  # deleted from disk\nenabled = true\n", "")
    )
    result = invoke(project, "plugins", "show", "blog")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "blog  (endpoint plugin, ok)"
    assert f"  file       {project.plugins_dir / 'blog.py'}" in lines
    assert "limit  int    10       5" in lines
    assert 'title  str    "Blog"   (default)' in lines
    rows = [line.split() for line in lines]
    assert ["GET", "/blog", "timing"] in rows
    assert ["GET", "/blog/{subpath:.*}", "timing"] in rows


def test_show_unknown_plugin_suggests(project: Project) -> None:
    result = invoke(project, "plugins", "show", "blgo")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "  hint: did you mean 'blog'?"


# -- enable / disable ---------------------------------------------------------------


def test_enable_and_disable_edit_in_place(project: Project) -> None:
    result = invoke(project, "plugins", "enable", "audit", "blog")
    assert result.exit_code == 0, result.output
    assert result.stdout == "enabled audit\nblog was already enabled\n"
    result = invoke(project, "plugins", "disable", "blog")
    assert result.stdout == "disabled blog\n"
    assert project.config_path.read_text() == CONFIG.replace(
        "[plugins.blog]   # the blog\nenabled = true",
        "[plugins.blog]   # the blog\nenabled = false",
    ).replace("[plugins.audit]\nenabled = false", "[plugins.audit]\nenabled = true")


def test_enable_a_plugin_without_a_section_appends_one(project: Project) -> None:
    result = invoke(project, "plugins", "enable", "trap")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"enabled trap  (added [plugins.trap] to {project.config_path})\n"
    assert project.config_path.read_text() == CONFIG + "\n[plugins.trap]\nenabled = true\n"


def test_enable_a_plugin_missing_on_disk_warns(project: Project) -> None:
    invoke(project, "plugins", "disable", "gone")
    result = invoke(project, "plugins", "enable", "gone")
    assert result.exit_code == 0
    assert "warning: 'gone' is not in" in result.stderr


def test_enable_unknown_name_writes_nothing(project: Project) -> None:
    result = invoke(project, "plugins", "enable", "audit", "timnig")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: no plugin named 'timnig' in {project.plugins_dir} or in {project.config_path}\n"
        "  hint: did you mean 'timing'?\n"
    )
    assert project.config_path.read_text() == CONFIG


def test_enable_requires_a_name(project: Project) -> None:
    result = invoke(project, "plugins", "enable")
    assert result.exit_code == 2
    assert "Missing argument 'NAME...'" in result.stderr


def test_disable_with_broken_toml(project: Project) -> None:
    broken = CONFIG.replace("limit = 5", "limit = ")
    project.write_config(broken)
    result = invoke(project, "plugins", "disable", "blog")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {project.config_path}:9:11: invalid TOML")
    assert project.config_path.read_text() == broken


# -- set / unset --------------------------------------------------------------------


def test_set_parses_toml_values(project: Project) -> None:
    result = invoke(project, "plugins", "set", "blog", "limit=20", "title=Hi there", "ratio=1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "plugins.blog.params.limit = 20  (was 5)",
        'plugins.blog.params.title = "Hi there"',
        "plugins.blog.params.ratio = 1",
    ]
    text = project.config_path.read_text()
    assert 'limit = 20  # five per page\ntitle = "Hi there"\nratio = 1\n' in text
    plugin = load_config(project.config_path).plugin("blog")
    assert plugin is not None
    assert dict(plugin.params) == {"limit": 20, "title": "Hi there", "ratio": 1}


def test_set_keeps_a_number_typed_for_a_string_param_as_text(project: Project) -> None:
    result = invoke(project, "plugins", "set", "blog", "title=2.0")
    assert result.exit_code == 0, result.output
    plugin = load_config(project.config_path).plugin("blog")
    assert plugin is not None and plugin.params["title"] == "2.0"


def test_set_undeclared_params_take_any_toml(project: Project) -> None:
    result = invoke(project, "plugins", "set", "timing", "tags=[1, 2]", "on=true", 'name="x"')
    assert result.exit_code == 0, result.output
    plugin = load_config(project.config_path).plugin("timing")
    assert plugin is not None
    assert dict(plugin.params) == {"tags": [1, 2], "on": True, "name": "x"}


@pytest.mark.parametrize(
    ("assignment", "message", "hint"),
    [
        (
            "limit=ten",
            'plugins.blog.params.limit: expected int, got "ten"',
            "plughost plugins set blog limit=10",
        ),
        (
            "limt=3",
            "plugins.blog.params.limt: the plugin's Params declares no 'limt'",
            "did you mean 'limit'?",
        ),
        ("ratio=true", "plugins.blog.params.ratio: expected float, got true", "blog ratio=0.5"),
    ],
)
def test_set_refuses_values_the_params_reject(
    project: Project, assignment: str, message: str, hint: str
) -> None:
    result = invoke(project, "plugins", "set", "blog", "limit=1", assignment)
    assert result.exit_code == 1
    error, hint_line = result.stderr.splitlines()
    assert error == f"Error: {message}"
    assert hint in hint_line
    assert project.config_path.read_text() == CONFIG


@pytest.mark.parametrize("assignment", ["limit", "=3", "a b=1"])
def test_set_usage_errors(project: Project, assignment: str) -> None:
    result = invoke(project, "plugins", "set", "blog", assignment)
    assert result.exit_code == 2
    assert project.config_path.read_text() == CONFIG


def test_set_for_a_plugin_without_a_section(project: Project) -> None:
    result = invoke(project, "plugins", "set", "trap", "x=1")
    assert result.exit_code == 0, result.output
    assert project.config_path.read_text().endswith(
        "\n[plugins.trap]\nenabled = false\n\n[plugins.trap.params]\nx = 1\n"
    )


def test_unset(project: Project) -> None:
    result = invoke(project, "plugins", "unset", "blog", "limit")
    assert result.exit_code == 0, result.output
    assert result.stdout == "removed plugins.blog.params.limit  (was 5)\n"
    assert "limit" not in project.config_path.read_text()


def test_unsetting_the_last_key_removes_the_empty_params_table(project: Project) -> None:
    result = invoke(project, "plugins", "unset", "blog", "limit")
    assert result.exit_code == 0, result.output
    text = project.config_path.read_text()
    assert "[plugins.blog.params]" not in text
    assert "[plugins.blog]   # the blog\nenabled = true\n" in text
    assert load_config(project.config_path).plugin("blog").params == {}  # type: ignore[union-attr]


def test_a_params_table_with_a_comment_is_kept_when_emptied(project: Project) -> None:
    project.config_path.write_text(
        CONFIG.replace("[plugins.blog.params]\n", "[plugins.blog.params]\n# tuning knobs\n")
    )
    assert invoke(project, "plugins", "unset", "blog", "limit").exit_code == 0
    text = project.config_path.read_text()
    assert "[plugins.blog.params]\n# tuning knobs\n" in text


def test_unset_a_key_that_is_not_set(project: Project) -> None:
    result = invoke(project, "plugins", "unset", "blog", "limt")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {project.config_path}:8:1: plugins.blog.params: 'limt' is not set\n"
        "  hint: did you mean 'limit'?\n"
    )
    assert project.config_path.read_text() == CONFIG


def test_set_then_unset_round_trip(project: Project) -> None:
    for args in (
        ("plugins", "set", "blog", "title=x"),
        ("plugins", "disable", "blog"),
        ("plugins", "enable", "blog"),
        ("plugins", "unset", "blog", "title"),
        ("plugins", "set", "blog", "limit=5"),
    ):
        assert invoke(project, *args).exit_code == 0
    assert project.config_path.read_text() == CONFIG


# -- completion ---------------------------------------------------------------------


def complete(project: Project, words: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("_PLUGHOST_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", f"plughost --config {project.config_path} {words}")
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) + 2 + words.endswith(" ")))
    result = CliRunner().invoke(cli, [], prog_name="plughost", env=None)
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_completion_of_plugin_names(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    assert complete(project, "plugins enable ", monkeypatch) == ["audit", "trap"]
    assert complete(project, "plugins disable ", monkeypatch) == ["blog", "timing", "gone"]
    assert complete(project, "plugins show t", monkeypatch) == ["timing", "trap"]
    assert complete(project, "plugins set b", monkeypatch) == ["blog"]
    assert complete(project, "plugins enable audit ", monkeypatch) == ["trap"]
