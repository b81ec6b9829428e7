"""The templates behind ``plughost init`` and ``plughost new``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from plughost.cli.scaffold import (
    EXAMPLE_PARAMS,
    KINDS,
    class_name,
    init_config,
    pytest_config,
    render,
)
from plughost.cli.static import analyse
from plughost.config import parse_config
from plughost.params import declared_params


@pytest.mark.parametrize("kind", KINDS)
def test_rendered_sources_compile(kind: str) -> None:
    plugin, test = render(kind, "my_blog")
    compile(plugin, "plugins/my_blog.py", "exec")
    compile(test, "tests/test_my_blog.py", "exec")
    assert "$" not in plugin + test


@pytest.mark.parametrize("kind", KINDS)
def test_example_params_match_the_templates_declaration(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "hello.py"
    path.write_text(render(kind, "hello").plugin)
    declared = declared_params(path)
    assert declared is not None
    assert {name: ast.literal_eval(spec.default or "") for name, spec in declared.items()} == dict(
        EXAMPLE_PARAMS[kind]
    )


@pytest.mark.parametrize("kind", KINDS)
def test_each_template_is_the_kind_it_says_and_answers_at_its_name(
    kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "hello.py"
    path.write_text(render(kind, "hello").plugin)
    info = analyse(path)
    assert info.kind == kind
    assert ("GET", "/hello") in info.routes


def test_the_test_reads_the_projects_config_by_name() -> None:
    test = render("endpoint", "hello", config_name="site.toml").test
    assert 'parents[1] / "site.toml"' in test
    assert "async def test_hello_answers(plughost_client):" in test


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown plugin kind 'blueprint'"):
        render("blueprint", "hello")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hello", "Hello"),
        ("my_blog", "MyBlog"),
        ("params", "ParamsPlugin"),
        ("base_plugin", "BasePluginPlugin"),
    ],
)
def test_class_name(name: str, expected: str) -> None:
    assert class_name(name) == expected


def test_init_config_parses_to_the_defaults() -> None:
    config = parse_config(init_config(), Path("plughost.toml"))
    assert config.plugins == ()
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)


def test_init_config_explains_every_setting() -> None:
    text = init_config()
    keys = {
        "server": "host port plugins_dir debug access_log keepalive_timeout client_max_size "
        "drain_timeout task_grace sync_to_thread",
        "auth": "apikey apikey_env allow_query_key",
        "cors": "enabled allow_origins allow_methods allow_headers allow_credentials max_age",
        "plugins.hello": "enabled route_path auth_type apikey_env",
        "plugins.hello.params": "greeting",
    }
    for section, names in keys.items():
        assert re.search(rf"^(# )?\[{re.escape(section)}\]$", text, re.M), section
        for key in names.split():
            assert re.search(rf"^(# )?{key} = ", text, re.M), f"{section}.{key}"


def test_init_config_uncommented_examples_parse(tmp_path: Path) -> None:
    """Every commented-out example is valid once a person removes the '# '."""
    lines = []
    for line in init_config().splitlines():
        if re.match(r"# (\[|[a-z_]+ = )", line):
            line = line[2:]
        lines.append(line)
    config = parse_config("\n".join(lines), tmp_path / "plughost.toml")
    plugin = config.plugin("hello")
    assert plugin is not None and plugin.enabled and dict(plugin.params) == {"greeting": "Hello"}


def test_pytest_config_turns_on_asyncio_auto_mode() -> None:
    assert "asyncio_mode = auto" in pytest_config()
