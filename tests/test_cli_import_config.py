"""``plughost import-config``: plughost.toml from a plugincore INI, through click's CliRunner.

The example on docs/migrating.md is plugincore's own example INI (from its
docs/Config.md, kept in tests/compat/plugincore/pserve.ini), the plughost.toml this
command writes from it and what it prints, all three kept in docs/snippets/migrating/.
Regenerate them after changing the command::

    python tests/test_cli_import_config.py
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from plughost.cli.commands import cli
from plughost.config import load_config

ROOT = Path(__file__).resolve().parents[1]
REAL_INI = ROOT / "tests" / "compat" / "plugincore" / "pserve.ini"
SNIPPETS = ROOT / "docs" / "snippets" / "migrating"
#: the HOME the documented example is generated with
DOCS_HOME = "/home/ann"


def _import(config: Path, ini: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "import-config", *args, str(ini)])


def _ini(folder: Path, text: str) -> Path:
    path = folder / "pserve.ini"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def generate_example(home: str = DOCS_HOME) -> tuple[str, str]:
    """The plughost.toml and the output of ``plughost import-config pserve.ini``, in a
    scratch folder with ``HOME`` set to ``home``."""
    previous = os.environ.get("HOME")
    os.environ["HOME"] = home
    try:
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "plughost.toml"
            ini = Path(scratch) / "pserve.ini"
            ini.write_bytes(REAL_INI.read_bytes())
            result = _import(config, ini)
            assert result.exit_code == 0, result.output
            output = result.stdout.replace(scratch + "/", "")
            return config.read_text(encoding="utf-8"), output
    finally:
        if previous is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = previous


def test_the_documented_example_is_what_the_command_writes() -> None:
    toml, output = generate_example()
    assert (SNIPPETS / "plughost.toml").read_text(encoding="utf-8") == toml, (
        "run: python tests/test_cli_import_config.py"
    )
    assert (SNIPPETS / "import-config.txt").read_text(encoding="utf-8") == (
        "$ plughost import-config pserve.ini\n" + output
    )
    assert (SNIPPETS / "pserve.ini").read_bytes() == REAL_INI.read_bytes()


def test_real_ini_becomes_a_valid_plughost_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    plugins = home / "etc" / "rsysinfo"
    plugins.mkdir(parents=True)
    for name in ("systeminfo", "uptime", "_helper"):
        (plugins / f"{name}.py").write_text("")
    monkeypatch.setenv("HOME", str(home))
    config_path = tmp_path / "site" / "plughost.toml"
    config_path.parent.mkdir()

    result = _import(config_path, REAL_INI)

    assert result.exit_code == 0, result.output
    config = load_config(config_path)
    assert (config.server.host, config.server.port) == ("0.0.0.0", 9192)
    assert config.plugins_dir == plugins
    assert config.auth.key == "deadbeef"
    assert config.cors.enabled is True
    assert config.cors.allow_origins == ("https://pi4.ducksfeet.com", "https://dfrb.hopto.org")
    assert config.cors.allow_credentials is True and config.cors.max_age == 3600
    # plugincore loads every .py file in the folder; "_helper" is no plughost plugin name
    assert [(p.name, p.enabled) for p in config.plugins] == [
        ("systeminfo", True),
        ("uptime", True),
    ]
    assert config.plugin("systeminfo").params == {"auth": "global"}  # type: ignore[union-attr]
    assert "plugincore reads auth_type, not auth" in result.stdout
    assert "'_helper' is not a plughost plugin name" in result.stdout
    assert "[SSL]: plughost serves plain HTTP" in result.stdout
    assert "auth.apikey = <hidden>" in result.stdout and "deadbeef" not in result.stdout
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600  # it holds a key


def test_plugin_parms_become_plugin_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NET_KEY", "from-env")
    ini = _ini(
        tmp_path,
        """\
        [paths]
        plugins=plugins

        [plugin_parms]
        ifinfo=route_path=/network&interval=int:2&name=eth+0
        cpuinfo=auth_type=Plugin&apikey=foobar
        netinfo=auth_type=plugin&apikey=${ENV:NET_KEY}
        diskinfo=auth_type=global&colour=${ENV:NET_KEY}
        """,
    )
    (tmp_path / "plugins").mkdir()
    for name in ("ifinfo", "cpuinfo", "netinfo", "diskinfo"):
        (tmp_path / "plugins" / f"{name}.py").write_text("")

    result = _import(tmp_path / "plughost.toml", ini)

    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "plughost.toml")
    assert config.server.plugins_dir == "plugins"
    ifinfo, cpuinfo, netinfo, diskinfo = config.plugins
    assert ifinfo.route_path == "network"
    # values stay strings, as plugincore passes them; "+" is a space in a query string
    assert dict(ifinfo.params) == {"interval": "int:2", "name": "eth 0"}
    assert (cpuinfo.auth_type, cpuinfo.apikey) == ("plugin", "foobar")
    assert (netinfo.auth_type, netinfo.apikey, netinfo.apikey_env) == ("plugin", None, "NET_KEY")
    assert diskinfo.params == {"colour": "from-env"}
    notes = result.stdout
    assert "[paths] plugins: 'plugins' is taken from the INI's folder" in notes
    assert "[plugin_parms] diskinfo: ${ENV:NET_KEY} was read from this environment now" in notes
    assert "[plugin_parms] netinfo: ${ENV" not in notes


def test_json_file_values_are_copied_into_params(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "sessman.py").write_text("")
    settings = {"backend": "sqlite", "database": "s.db", "session_ttl": 600, "x": None}
    (plugins / "sessman.json").write_text(json.dumps(settings))
    ini = _ini(tmp_path, "[paths]\nplugins=plugins\n[plugin_parms]\nsessman=json=sessman.json\n")

    result = _import(tmp_path / "plughost.toml", ini)

    assert result.exit_code == 0, result.output
    sessman = load_config(tmp_path / "plughost.toml").plugin("sessman")
    assert sessman is not None and sessman.enabled
    assert dict(sessman.params) == {"backend": "sqlite", "database": "s.db", "session_ttl": 600}
    assert "x is null; TOML has no null" in result.stdout
    assert "may now hold passwords: keep it private" in result.stdout
    assert stat.S_IMODE((tmp_path / "plughost.toml").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("parms", "files", "message"),
    [
        ("sessman=json=missing.json", {}, "json=missing.json: "),
        ("sessman=json=bad.json", {"bad.json": "{nope"}, "cannot read"),
        ("sessman=json=list.json", {"list.json": "[1]"}, "does not hold a JSON object"),
        ("sessman=log=x", {}, "'log' is a keyword plughost passes to every BasePlugin"),
    ],
)
def test_bad_plugin_parms_are_an_error_and_nothing_is_written(
    tmp_path: Path, parms: str, files: dict[str, str], message: str
) -> None:
    (tmp_path / "plugins").mkdir()
    for name, text in files.items():
        (tmp_path / "plugins" / name).write_text(text)
    ini = _ini(tmp_path, f"[paths]\nplugins=plugins\n[plugin_parms]\n{parms}\n")
    result = _import(tmp_path / "plughost.toml", ini)
    assert result.exit_code == 1
    assert "pserve.ini: [plugin_parms] sessman: " in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "plughost.toml").exists()


def test_not_an_ini_file(tmp_path: Path) -> None:
    ini = _ini(tmp_path, "port = 1\n")
    result = _import(tmp_path / "plughost.toml", ini)
    assert result.exit_code == 1
    assert "not an INI file plugincore reads" in result.stderr
    assert "Traceback" not in result.output


def test_an_auth_key_from_the_environment_stays_there(tmp_path: Path) -> None:
    ini = _ini(tmp_path, "[auth]\napikey=${ENV:PSERVE_KEY}\n[network]\nport=9\n")
    result = _import(tmp_path / "plughost.toml", ini)
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "plughost.toml")
    assert (config.auth.apikey, config.auth.apikey_env) == (None, "PSERVE_KEY")
    assert "was read from this environment" not in result.stdout


def test_cors_as_plugincore_sets_it_up(tmp_path: Path) -> None:
    ini = _ini(tmp_path, "[cors]\nenabled=bool:false\norigin_url=list:* not-an-origin\nacl=x\n")
    result = _import(tmp_path / "plughost.toml", ini)
    assert result.exit_code == 0, result.output
    cors = load_config(tmp_path / "plughost.toml").cors
    assert (cors.enabled, cors.allow_origins, cors.allow_credentials) == (False, ("*",), False)
    for note in (
        "plugincore 0.10.5 turns CORS on whenever the key is there",
        "'not-an-origin' is not an origin; left out",
        "[cors] acl is not read by plugincore's server",
        'origin_url "*": plughost sends no credentials',
    ):
        assert note in result.stdout


EXISTING = """\
# The shop's plughost config.
[server]
port = 8080  # behind the proxy

# Our own plugins.
[plugins.hello]
enabled = true  # the greeter
"""


def test_merges_into_an_existing_config_keeping_comments(tmp_path: Path) -> None:
    config_path = tmp_path / "plughost.toml"
    config_path.write_text(EXISTING)
    ini = _ini(tmp_path, "[network]\nbindto=0.0.0.0\nport=int:8080\n[auth]\napikey=k\n")

    result = _import(config_path, ini)

    assert result.exit_code == 0, result.output
    text = config_path.read_text()
    assert text.startswith(EXISTING.split("\n# Our own")[0].replace("8080  #", "8080  #"))
    for line in (
        "# The shop's plughost config.",
        "port = 8080  # behind the proxy",
        "enabled = true  # the greeter",
        'host = "0.0.0.0"',
        'apikey = "k"',
    ):
        assert line in text
    assert result.stdout.splitlines()[1:3] == [
        '  server.host = "0.0.0.0"',
        "  auth.apikey = <hidden>",
    ]
    again = _import(config_path, ini)
    assert again.exit_code == 0
    assert "already holds everything" in again.stdout
    assert config_path.read_text() == text


def test_refuses_to_overwrite_a_value_without_force(tmp_path: Path) -> None:
    config_path = tmp_path / "plughost.toml"
    config_path.write_text(EXISTING)
    ini = _ini(tmp_path, "[network]\nport=9192\n[plugin_parms]\nhello=route_path=hi\n")

    refused = _import(config_path, ini)

    assert refused.exit_code == 1
    assert "already sets 1 value differently; nothing was written" in refused.stderr
    assert "server.port is 8080, the INI gives 9192" in refused.stderr
    assert "use --force" in refused.stderr
    assert config_path.read_text() == EXISTING

    forced = _import(config_path, ini, "--force")

    assert forced.exit_code == 0, forced.output
    assert "  server.port = 9192  (was 8080)" in forced.stdout
    text = config_path.read_text()
    assert "port = 9192  # behind the proxy" in text
    assert "enabled = true  # the greeter" in text
    assert load_config(config_path).plugin("hello").route_path == "hi"  # type: ignore[union-attr]


def main() -> None:
    toml, output = generate_example()
    SNIPPETS.mkdir(parents=True, exist_ok=True)
    (SNIPPETS / "pserve.ini").write_bytes(REAL_INI.read_bytes())
    (SNIPPETS / "plughost.toml").write_text(toml, encoding="utf-8")
    (SNIPPETS / "import-config.txt").write_text(
        "$ plughost import-config pserve.ini\n" + output, encoding="utf-8"
    )
    print(f"wrote {SNIPPETS}", file=sys.stderr)


if __name__ == "__main__":
    main()
