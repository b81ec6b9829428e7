"""plughost.toml: defaults, syntax and validation errors with file:line:col, params."""

from __future__ import annotations

from pathlib import Path

import pytest
from _support import host_of

from plughost.config import Config, load_config, parse_config
from plughost.errors import ConfigError
from plughost.testing import ClientFactory, ProjectFactory


def _config(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "plughost.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, text)
    return caught.value


def test_defaults(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    assert config.path == tmp_path / "plughost.toml"
    assert config.server.host == "127.0.0.1"
    assert config.server.port == 8080
    assert config.server.plugins_dir == "plugins"
    assert config.plugins_dir == tmp_path / "plugins"
    assert config.server.debug is False
    assert config.server.access_log is True
    assert config.server.task_grace == 5.0
    assert config.server.client_max_size == 1024**2
    assert config.auth.key is None
    assert config.auth.allow_query_key is False
    assert config.cors.enabled is False
    assert config.cors.allow_origins == ()
    assert config.cors.allow_credentials is False
    assert config.plugins == ()


def test_values_and_plugin_order(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
[server]
host = "0.0.0.0"
port = 9000
debug = true
task_grace = 0.5
keepalive_timeout = 5

[plugins.zeta]
enabled = true
route_path = "z"
auth_type = "plugin"
apikey = "secret"

[plugins.alpha]
enabled = false

[plugins.mid]
[plugins.mid.params]
limit = 3
""",
    )
    assert config.server.host == "0.0.0.0"
    assert config.server.port == 9000
    assert config.server.debug is True
    assert config.server.task_grace == 0.5
    assert config.server.keepalive_timeout == 5
    # Load order is the order of the [plugins.*] sections, not alphabetical.
    assert [p.name for p in config.plugins] == ["zeta", "alpha", "mid"]
    zeta = config.plugin("zeta")
    assert zeta is not None
    assert (zeta.enabled, zeta.route_path, zeta.auth_type, zeta.key) == (
        True,
        "z",
        "plugin",
        "secret",
    )
    # A plugin without `enabled = true` is disabled.
    assert [p.name for p in config.enabled] == ["zeta"]
    mid = config.plugin("mid")
    assert mid is not None and dict(mid.params) == {"limit": 3}
    assert config.plugin("nope") is None


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml")
    message = str(caught.value)
    assert "absent.toml" in message
    assert "plughost init" in message


def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    error = _error(tmp_path, '[server]\nport = 8080\nhost = "unterminated\n')
    assert (error.line, error.col) == (3, 21)
    assert str(error).startswith(f"{tmp_path / 'plughost.toml'}:3:21: invalid TOML")


@pytest.mark.parametrize(
    ("text", "where", "message", "suggestion"),
    [
        ("[server]\nprot = 80\n", "2:1", "unknown key 'server.prot'", "did you mean 'port'?"),
        (
            "[plugins.blog]\nenabeld = true\n",
            "2:1",
            "unknown key 'plugins.blog.enabeld'",
            "did you mean 'enabled'?",
        ),
        (
            "[cors]\nenabled = true\nallow_origin = []\n",
            "3:1",
            "unknown key 'cors.allow_origin'",
            "did you mean 'allow_origins'?",
        ),
        ("[auth]\napi_key = 'x'\n", "2:1", "unknown key 'auth.api_key'", "did you mean 'apikey'?"),
        # An unknown section is reported at its header.
        ("[server]\nport = 1\n\n[servr]\nport = 2\n", "4:1", "unknown key 'servr'", "'server'"),
    ],
)
def test_unknown_key_suggests_the_nearest_valid_one(
    tmp_path: Path, text: str, where: str, message: str, suggestion: str
) -> None:
    error = _error(tmp_path, text)
    assert str(error).startswith(f"{tmp_path / 'plughost.toml'}:{where}: {message}")
    assert suggestion in str(error)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('[server]\nport = "8080"\n', "2:1", "server.port: expected an integer, got str '8080'"),
        ("[server]\nport = true\n", "2:1", "server.port: expected an integer, got bool True"),
        ("[server]\nport = 70000\n", "2:1", "server.port: 70000 is not a port number"),
        ("[server]\ndebug = 1\n", "2:1", "server.debug: expected a boolean, got int 1"),
        ("[server]\ntask_grace = 'soon'\n", "2:1", "server.task_grace: expected a number"),
        ("server = 3\n", "1:1", "server: expected a table"),
        (
            '[cors]\nallow_origins = "https://a.example"\n',
            "2:1",
            "cors.allow_origins: expected a list of strings",
        ),
        ("[cors]\nallow_origins = [1]\n", "2:1", "cors.allow_origins: expected a list of strings"),
        (
            '[cors]\nallow_origins = ["https://a.example/"]\n',
            "2:1",
            "'https://a.example/' is not an origin",
        ),
        (
            "[plugins.blog]\nenabled = 'yes'\n",
            "2:1",
            "plugins.blog.enabled: expected a boolean, got str 'yes'",
        ),
        (
            "[plugins.blog]\nauth_type = 'admin'\n",
            "2:1",
            "plugins.blog.auth_type: expected one of 'global', 'plugin', 'none', got 'admin'",
        ),
        ("[plugins.blog]\nparams = 3\n", "2:1", "plugins.blog.params: expected a table"),
        ("[plugins._helper]\nenabled = true\n", "1:1", "'_helper' is not a plugin name"),
        ("[plugins.class]\nenabled = true\n", "1:1", "'class' is not a plugin name"),
    ],
)
def test_wrong_types_name_the_key_and_what_was_expected(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    error = _error(tmp_path, text)
    assert str(error).startswith(f"{tmp_path / 'plughost.toml'}:{where}: ")
    assert message in str(error)


def test_cors_wildcard_with_credentials_is_refused(tmp_path: Path) -> None:
    text = '[cors]\nenabled = true\nallow_origins = ["*"]\nallow_credentials = true\n'
    error = _error(tmp_path, text)
    assert str(error).startswith(f"{tmp_path / 'plughost.toml'}:3:1: ")
    assert '"*" cannot be used with allow_credentials = true' in str(error)
    # Without credentials the wildcard is allowed, and credentials are off by default.
    config = _config(tmp_path, '[cors]\nenabled = true\nallow_origins = ["*"]\n')
    assert config.cors.allow_origins == ("*",)
    assert config.cors.allow_credentials is False


def test_apikey_env_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(
        tmp_path,
        """
[auth]
apikey_env = "PLUGHOST_TEST_GLOBAL_KEY"

[plugins.blog]
auth_type = "plugin"
apikey_env = "PLUGHOST_TEST_BLOG_KEY"
""",
    )
    blog = config.plugin("blog")
    assert blog is not None
    monkeypatch.delenv("PLUGHOST_TEST_GLOBAL_KEY", raising=False)
    monkeypatch.delenv("PLUGHOST_TEST_BLOG_KEY", raising=False)
    assert config.auth.key is None
    assert blog.key is None
    monkeypatch.setenv("PLUGHOST_TEST_GLOBAL_KEY", "from-env")
    monkeypatch.setenv("PLUGHOST_TEST_BLOG_KEY", "blog-env")
    assert config.auth.key == "from-env"
    assert blog.key == "blog-env"


def test_parse_config_reports_the_given_path() -> None:
    path = Path("/somewhere/plughost.toml")
    with pytest.raises(ConfigError) as caught:
        parse_config("[server]\nport = 'x'\n", path)
    assert caught.value.path == path
    assert (caught.value.line, caught.value.col) == (2, 1)


# -- params, validated against the plugin's Params declaration -------------

BLOG = """
from dataclasses import dataclass, field

import plughost


@dataclass
class Params:
    title: str
    limit: int = 10
    ratio: float = 0.5
    tags: list[str] = field(default_factory=list)


PARAMS = None


def setup(host):
    global PARAMS
    PARAMS = host.params


@plughost.route("/blog")
async def blog():
    return {
        "type": type(PARAMS).__name__,
        "title": PARAMS.title,
        "limit": PARAMS.limit,
        "ratio": PARAMS.ratio,
        "tags": PARAMS.tags,
    }
"""

UNDECLARED = """
import plughost

PARAMS = None


def setup(host):
    global PARAMS
    PARAMS = host.params


@plughost.route("/undeclared")
async def undeclared():
    return dict(PARAMS)
"""


async def test_params_reach_the_plugin_typed(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project(
        {"blog": BLOG, "undeclared": UNDECLARED},
        params={
            "blog": {"title": "News", "ratio": 1, "tags": ["a", "b"]},
            "undeclared": {"anything": [1, 2], "goes": True},
        },
    )
    client = await plughost_client(project)
    resp = await client.get("/blog")
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {
        "type": "Params",
        "title": "News",
        "limit": 10,
        "ratio": 1,
        "tags": ["a", "b"],
    }
    # Without a declaration the plugin receives the table as it is.
    assert await (await client.get("/undeclared")).json() == {"anything": [1, 2], "goes": True}


@pytest.mark.parametrize(
    ("params", "needle", "message"),
    [
        (
            {"title": "News", "limit": "ten"},
            "limit =",
            "plugins.blog.params.limit: expected int, got 'ten'",
        ),
        (
            {"title": "News", "limit": True},
            "limit =",
            "plugins.blog.params.limit: expected int, got True",
        ),
        (
            {"title": "News", "tags": ["a", 2]},
            "tags =",
            "plugins.blog.params.tags: expected list[str]",
        ),
        ({"title": "News", "limt": 3}, "limt =", "plugins.blog.params.limt: unknown key"),
        (
            {"limit": 3},
            "[plugins.blog.params]",
            "plugins.blog.params.title: required (str) but not set",
        ),
    ],
)
async def test_bad_params_name_the_key_and_the_plugin_does_not_load(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    tmp_path: Path,
    params: dict[str, object],
    needle: str,
    message: str,
) -> None:
    marker = tmp_path / "setup-ran"
    source = BLOG.replace(
        "    PARAMS = host.params\n",
        f"    PARAMS = host.params\n    open({str(marker)!r}, 'w').close()\n",
    )
    project = plughost_project(
        {"blog": source, "other": UNDECLARED}, params={"blog": params}, enabled=["other", "blog"]
    )
    client = await plughost_client(project)
    status = host_of(client).status()
    assert status["blog"].state == "error"
    error = status["blog"].error or ""
    assert message in error
    lines = project.config_path.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.startswith(needle))
    assert f"{project.config_path}:{line}:1: " in error
    # The plugin never ran its setup and serves nothing; the others serve.
    assert not marker.exists()
    assert (await client.get("/blog")).status == 503
    assert (await client.get("/undeclared")).status == 200
