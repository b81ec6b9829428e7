"""``plughost init`` and ``plughost new`` through click's CliRunner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from plughost.cli.commands import cli
from plughost.cli.scaffold import init_config
from plughost.config import load_config


@pytest.fixture(autouse=True)
def _no_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGHOST_CONFIG", raising=False)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its contents."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An initialised project; returns its config path."""
    result = invoke("init", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    return tmp_path / "site" / "plughost.toml"


# -- init ---------------------------------------------------------------------------


def test_init_creates_config_plugins_and_pytest_settings(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path / "site"))
    assert result.exit_code == 0
    assert result.stderr == ""
    root = tmp_path / "site"
    assert (root / "plughost.toml").read_text() == init_config()
    assert (root / "plugins").is_dir()
    assert "asyncio_mode = auto" in (root / "pytest.ini").read_text()
    assert f"Created {root / 'plughost.toml'}" in result.stdout
    assert f"Next: cd {root} && plughost new hello" in result.stdout


def test_init_without_a_directory_uses_the_config_path(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere" / "site.toml"
    result = invoke("--config", str(config), "init")
    assert result.exit_code == 0, result.output
    assert load_config(config).plugins_dir == tmp_path / "elsewhere" / "plugins"


def test_init_reads_the_config_path_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "env.toml"
    result = invoke("init", env={"PLUGHOST_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert config.is_file()


def test_init_refuses_an_existing_config(tmp_path: Path) -> None:
    (tmp_path / "plughost.toml").write_text("# mine\n")
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {tmp_path / 'plughost.toml'}: already exists; nothing was written\n"
        "  hint: use --force to replace it\n"
    )
    assert tree(tmp_path) == {"plughost.toml": b"# mine\n"}


def test_init_force_replaces_the_config(tmp_path: Path) -> None:
    (tmp_path / "plughost.toml").write_text("# mine\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = invoke("init", str(tmp_path), "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plughost.toml").read_text() == init_config()
    assert not (tmp_path / "pytest.ini").exists(), "pytest is configured in pyproject.toml"


# -- new ----------------------------------------------------------------------------


def test_new_endpoint(project: Path) -> None:
    root = project.parent
    before = project.read_text()
    result = invoke("--config", str(project), "new", "hello")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"Created {root / 'plugins' / 'hello.py'}  (endpoint plugin)",
        f"Created {root / 'tests' / 'test_hello.py'}",
        f"Added [plugins.hello] to {project}  (enabled)",
        "",
        "hello will answer on http://127.0.0.1:8080/hello",
        "Start the server with: plughost run --reload",
    ]
    assert 'route_path = "hello"' in (root / "plugins" / "hello.py").read_text()
    assert "plughost_client" in (root / "tests" / "test_hello.py").read_text()
    assert project.read_text() == (
        before + '\n[plugins.hello]\nenabled = true\n\n[plugins.hello.params]\ngreeting = "Hello"\n'
    )
    plugin = load_config(project).plugin("hello")
    assert plugin is not None and plugin.enabled


@pytest.mark.parametrize(("kind", "params"), [("hooks", "header"), ("wrapper", "slow_ms")])
def test_new_other_kinds(project: Path, kind: str, params: str) -> None:
    result = invoke("--config", str(project), "new", "extra", "--kind", kind)
    assert result.exit_code == 0, result.output
    assert f"({kind} plugin)" in result.stdout
    plugin = load_config(project).plugin("extra")
    assert plugin is not None and list(plugin.params) == [params]


def test_new_url_uses_the_configured_address(project: Path) -> None:
    project.write_text(project.read_text().replace('host = "127.0.0.1"', 'host = "0.0.0.0"'))
    project.write_text(project.read_text().replace("port = 8080", "port = 9001"))
    result = invoke("--config", str(project), "new", "hello")
    assert "hello will answer on http://127.0.0.1:9001/hello" in result.stdout


@pytest.mark.parametrize(
    ("name", "reason", "hint"),
    [
        ("../evil", "it is a path", "try 'evil'"),
        ("plugins/x", "it is a path", "try 'x'"),
        ("..", "it is a path", None),
        ("hello.py", "give the name without '.py'", "try 'hello'"),
        ("héllo", "a plugin name must be ASCII", None),
        ("my-blog", "a plugin name must be a Python identifier", "try 'my_blog'"),
        ("2fast", "a plugin name must be a Python identifier", None),
        ("", "the name is empty", None),
        ("_helper", "names starting with '_' are helper modules, not plugins", "try 'helper'"),
        ("class", "it is a Python keyword", "try 'class_plugin'"),
        ("json", "it is the name of a standard-library module", "try 'json_plugin'"),
    ],
)
def test_new_refuses_bad_names(project: Path, name: str, reason: str, hint: str | None) -> None:
    before = tree(project.parent)
    result = invoke("--config", str(project), "new", name)
    assert result.exit_code == 1
    assert result.stdout == ""
    first, *rest = result.stderr.splitlines()
    assert first.startswith(f"Error: cannot create plugin {name!r}: {reason}")
    assert first.endswith("; nothing was written")
    assert rest == ([f"  hint: {hint}"] if hint else [])
    assert tree(project.parent) == before


def test_new_refuses_a_name_on_disk(project: Path) -> None:
    (project.parent / "plugins" / "blog").mkdir()
    before = tree(project.parent)
    result = invoke("--config", str(project), "new", "blog")
    assert result.exit_code == 1
    assert f"{project.parent / 'plugins' / 'blog'} already exists" in result.stderr
    assert tree(project.parent) == before


def test_new_refuses_a_name_in_the_config(project: Path) -> None:
    project.write_text(project.read_text() + "\n[plugins.blog]\nenabled = false\n")
    before = tree(project.parent)
    result = invoke("--config", str(project), "new", "blog")
    assert result.exit_code == 1
    assert f"[plugins.blog] already exists in {project}" in result.stderr
    assert tree(project.parent) == before


def test_new_refuses_when_the_test_file_exists(project: Path) -> None:
    (project.parent / "tests").mkdir()
    (project.parent / "tests" / "test_blog.py").write_text("# mine\n")
    before = tree(project.parent)
    result = invoke("--config", str(project), "new", "blog")
    assert result.exit_code == 1
    assert "test_blog.py already exists" in result.stderr
    assert tree(project.parent) == before


def test_new_refuses_twice(project: Path) -> None:
    assert invoke("--config", str(project), "new", "blog").exit_code == 0
    before = tree(project.parent)
    result = invoke("--config", str(project), "new", "blog")
    assert result.exit_code == 1
    assert tree(project.parent) == before


def test_new_with_broken_toml_writes_nothing(project: Path) -> None:
    project.write_text(project.read_text() + "\n[plugins.blog\n")
    before = tree(project.parent)
    result = invoke("--config", str(project), "new", "shop")
    assert result.exit_code == 1
    line = len(project.read_text().splitlines())
    assert result.stderr.startswith(f"Error: {project}:{line}:")
    assert "invalid TOML" in result.stderr
    assert tree(project.parent) == before


def test_new_without_a_config(tmp_path: Path) -> None:
    result = invoke("--config", str(tmp_path / "plughost.toml"), "new", "hello")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {str(tmp_path / 'plughost.toml')!r} not found\n"
        "  hint: create a project with `plughost init`, or point --config at one\n"
    )
    assert os.listdir(tmp_path) == []


def test_new_rolls_back_when_the_config_write_fails(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(project.parent)

    def crash(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    result = invoke("--config", str(project), "new", "hello")
    assert result.exit_code != 0
    assert not (project.parent / "tests").exists()
    assert tree(project.parent) == before


def test_new_rejects_an_unknown_kind(project: Path) -> None:
    result = invoke("--config", str(project), "new", "hello", "--kind", "blueprint")
    assert result.exit_code == 2
    assert "'blueprint' is not one of 'endpoint', 'hooks', 'wrapper'" in result.stderr
