"""The user docs in docs/ against the code: hooks, config keys, included code, the build.

The getting-started page shows the files ``plughost new hello`` writes; they are
kept in docs/snippets/getting-started/. Regenerate them after changing the
scaffold templates::

    python tests/test_docs.py
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from plughost.cli.commands import cli
from plughost.config import AuthConfig, CorsConfig, PluginConfig, ServerConfig
from plughost.request.context import HOOK_NAMES, SINGLE_HOOKS, WRITABLE
from plughost.testing import ClientFactory

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
GETTING_STARTED = DOCS / "snippets" / "getting-started"
#: file name in docs/snippets/getting-started -> path in a project made by `plughost new hello`
SCAFFOLDED = {"hello.py": "plugins/hello.py", "test_hello.py": "tests/test_hello.py"}

# ```python, or ```{.python}: ruff formats the Python blocks of Markdown files, and leaves the
# attribute-list form, which the includes use, alone.
_FENCE = re.compile(r"^```(?:\{\.)?(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
_SNIPPET = re.compile(r'^-{1,2}8<-{1,2} "([^"]+)"$', re.M)


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in _pages())


def _table(page: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped, header and rule dropped) of the first table under ``heading``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    rows: list[list[str]] = []
    for line in text[start + len(heading) + 2 :].splitlines():
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif rows:
            break
    return rows[2:]


def _code(cell: str) -> str:
    return cell.strip("`")


# -- hooks --------------------------------------------------------------------------


def test_every_hook_is_in_the_reference_in_order_with_its_rules() -> None:
    rows = _table("hooks.md", "## The hooks")
    assert [_code(row[0]) for row in rows] == list(HOOK_NAMES)
    for row in rows:
        hook, single, assigns = _code(row[0]), row[1], row[2]
        assert (single == "single") == (hook in SINGLE_HOOKS), hook
        documented = {_code(name.strip()) for name in assigns.split(",")} - {"—"}
        assert documented == set(WRITABLE[hook]), hook


def test_access_rules_match_what_debug_mode_enforces() -> None:
    rows = _table("hooks.md", "## Access rules")
    fields = ["input", "output", "response", "error"]
    assert [_code(row[0]) for row in rows] == list(HOOK_NAMES)
    for row in rows:
        hook = _code(row[0])
        for field, cell in zip(fields, row[1:], strict=True):
            writes = cell in ("WRITE", "MODIFY")
            assert writes == (field in WRITABLE[hook]), (hook, field, cell)
            assert cell in ("WRITE", "MODIFY", "READ", "—"), (hook, field, cell)


def test_each_hook_has_its_own_section() -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    for hook in HOOK_NAMES:
        suffix = " [single]" if hook in SINGLE_HOOKS else ""
        assert f"\n### `{hook}`{suffix}\n" in text, hook


# -- configuration ------------------------------------------------------------------


def _toml(value: object) -> str:
    """A default as the docs write it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, tuple):
        return "`" + json.dumps(list(value)) + "`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _defaults(cls: type) -> Iterator[tuple[str, str]]:
    for field in dataclasses.fields(cls):
        if field.name == "name" or field.name == "path":
            continue
        if field.default is not dataclasses.MISSING:
            yield field.name, _toml(field.default)
        else:
            yield field.name, "`{}`"


@pytest.mark.parametrize(
    ("heading", "cls"),
    [
        ("## `[server]`", ServerConfig),
        ("## `[auth]`", AuthConfig),
        ("## `[cors]`", CorsConfig),
        ("## `[plugins.NAME]`", PluginConfig),
    ],
)
def test_every_config_key_is_documented_with_its_default(heading: str, cls: type) -> None:
    rows = _table("configuration.md", heading)
    documented = {_code(row[0]): row[2] for row in rows}
    expected = dict(_defaults(cls))
    assert list(documented) == list(expected), "document the keys in the order config.py has"
    assert documented == expected


def test_every_config_key_parses_as_documented(tmp_path: Path) -> None:
    """The example at the top of the configuration page is a valid config."""
    from plughost.config import load_config

    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    example = next(m.group(2) for m in _FENCE.finditer(text) if m.group(1) == "toml")
    path = tmp_path / "plughost.toml"
    path.write_text(example, encoding="utf-8")
    config = load_config(path)
    assert [p.name for p in config.plugins] == ["hello"]


# -- code in the docs ---------------------------------------------------------------


def _blocks() -> Iterator[tuple[Path, str, str]]:
    for page in _pages():
        for match in _FENCE.finditer(page.read_text(encoding="utf-8")):
            yield page, match.group(1), match.group(2)


def test_plugin_code_is_included_from_tested_files_not_pasted() -> None:
    for page, language, body in _blocks():
        if language != "python":
            continue
        lines = [line for line in body.splitlines() if line.strip()]
        included = all(_SNIPPET.match(line) for line in lines)
        assert included or "plughost" not in body, (
            f"{page.name}: a Python block that uses plughost must include a tested file "
            f'(--8<-- "examples/...") instead of pasting code:\n{body}'
        )


def test_every_included_file_and_section_exists() -> None:
    found = 0
    for page, _, body in _blocks():
        for match in _SNIPPET.finditer(body):
            target, _, section = match.group(1).partition(":")
            path = ROOT / target
            assert path.is_file(), f"{page.name}: {target} does not exist"
            assert target.startswith(("examples/", "docs/snippets/")), target
            if section:
                source = path.read_text(encoding="utf-8")
                assert f"--8<-- [start:{section}]" in source, f"{page.name}: {match.group(1)}"
                assert f"--8<-- [end:{section}]" in source, f"{page.name}: {match.group(1)}"
            found += 1
    assert found >= 20


def test_included_plugins_are_enabled_in_their_example() -> None:
    """Every plugin the docs show is loaded by its example's tests (disabled ones by variants)."""
    for _, _, body in _blocks():
        for match in _SNIPPET.finditer(body):
            target = match.group(1).partition(":")[0]
            parts = Path(target).parts
            if parts[0] != "examples" or parts[2] != "plugins":
                continue
            name = Path(parts[3]).stem
            config = (EXAMPLES / parts[1] / "plughost.toml").read_text(encoding="utf-8")
            assert name.startswith("_") or f"[plugins.{name}]" in config, target


def test_every_hook_name_and_config_section_appears_in_the_docs() -> None:
    text = _text()
    for hook in HOOK_NAMES:
        assert f"`{hook}`" in text, hook
    for section in ("[server]", "[auth]", "[cors]", "[plugins.NAME]", "[plugins.NAME.params]"):
        assert section in text, section


# -- getting started ----------------------------------------------------------------


def _scaffold(tmp_path: Path) -> Path:
    """A project made the way the getting-started page says; returns its folder."""
    runner = CliRunner()
    root = tmp_path / "myproject"
    result = runner.invoke(cli, ["init", str(root)], env={"PLUGHOST_CONFIG": None})
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        ["--config", str(root / "plughost.toml"), "new", "hello"],
        env={"PLUGHOST_CONFIG": None},
    )
    assert result.exit_code == 0, result.output
    return root


def test_getting_started_shows_what_plughost_new_writes(tmp_path: Path) -> None:
    root = _scaffold(tmp_path)
    for shown, written in SCAFFOLDED.items():
        assert (GETTING_STARTED / shown).read_text(encoding="utf-8") == (root / written).read_text(
            encoding="utf-8"
        ), "run: python tests/test_docs.py"


async def test_getting_started_plugin_answers_as_shown(
    tmp_path: Path, plughost_client: ClientFactory
) -> None:
    root = _scaffold(tmp_path)
    client = await plughost_client(root / "plughost.toml")
    resp = await client.get("/hello")
    assert await resp.json() == {"message": "Hello from hello"}
    page = (DOCS / "index.md").read_text(encoding="utf-8")
    assert '{"message": "Hello from hello"}' in page


# -- the examples' READMEs ----------------------------------------------------------


@pytest.mark.parametrize("example", ["endpoints", "hooks", "wrappers", "mixed"])
def test_example_runs_with_the_command_its_readme_gives(example: str) -> None:
    readme = (EXAMPLES / example / "README.md").read_text(encoding="utf-8")
    config = f"examples/{example}/plughost.toml"
    assert f"plughost --config {config} run" in readme
    assert f"cd examples/{example} && " in readme
    # `check` loads every enabled plugin as `run` does, without serving.
    result = CliRunner().invoke(cli, ["--config", str(ROOT / config), "check"])
    assert result.exit_code == 0, result.output


# -- the build ----------------------------------------------------------------------


def test_mkdocs_builds_strictly(tmp_path: Path) -> None:
    for page in ("cli.md", "benchmarks.md"):
        assert (DOCS / page).is_file(), f"docs/{page} is in the mkdocs nav but does not exist"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "hooks" / "index.html").is_file()


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = _scaffold(Path(folder))
        GETTING_STARTED.mkdir(parents=True, exist_ok=True)
        for shown, written in SCAFFOLDED.items():
            (GETTING_STARTED / shown).write_text(
                (root / written).read_text(encoding="utf-8"), encoding="utf-8"
            )
    print(f"wrote {GETTING_STARTED}", file=sys.stderr)


if __name__ == "__main__":
    main()
