"""Round-trip editing and atomic writes of plughost.toml."""

from __future__ import annotations

import fcntl
import os
import stat
import threading
from pathlib import Path

import pytest

from plughost.cli.configfile import (
    MISSING,
    ConfigChangedError,
    add_plugin_section,
    create_config,
    edit_config,
    set_enabled,
    set_params,
    unset_params,
)
from plughost.config import load_config
from plughost.errors import ConfigError

HAND_WRITTEN = """\
# My site.   Comments everywhere, odd spacing, and an order of my own.

[server]
port    = 8081          # not the default
host = "0.0.0.0"

#   The blog comes first: it owns /blog.
[plugins.blog]  # header comment
enabled = false     # off for now
route_path = 'blog'   # literal string, single quotes

[plugins.blog.params]
# how many posts per page
limit = 10   # ten
title = "My blog"

    # an indented comment

[plugins.shop]
# no enabled key here on purpose
route_path = "shop"

[cors]  # after the plugins
enabled = false
allow_origins = [
    "https://a.example",  # first
    "https://b.example",
]
"""


def write(tmp_path: Path, text: str, name: str = "plughost.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_round_trip_changes_only_the_touched_values(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    set_enabled(path, ["blog"], True)
    set_enabled(path, ["shop"], True)
    set_enabled(path, ["shop"], False)
    set_params(path, "blog", {"limit": 20, "tags": ["a", "b"]})
    unset_params(path, "blog", ["title"])
    set_enabled(path, ["news"], True)
    expected = (
        HAND_WRITTEN.replace(
            "enabled = false     # off for now", "enabled = true     # off for now"
        )
        .replace("limit = 10   # ten", "limit = 20   # ten")
        .replace('title = "My blog"\n', 'tags = ["a", "b"]\n')
        .replace(
            '# no enabled key here on purpose\nroute_path = "shop"\n',
            '# no enabled key here on purpose\nroute_path = "shop"\nenabled = false\n',
        )
        + "\n[plugins.news]\nenabled = true\n"
    )
    assert path.read_bytes().decode() == expected
    config = load_config(path)
    assert [p.name for p in config.plugins] == ["blog", "shop", "news"]
    assert dict(config.plugin("blog").params) == {"limit": 20, "tags": ["a", "b"]}  # type: ignore[union-attr]


def test_enable_then_disable_restores_the_file_byte_for_byte(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    set_enabled(path, ["blog"], True)
    set_enabled(path, ["blog"], False)
    set_params(path, "blog", {"limit": 11})
    set_params(path, "blog", {"limit": 10})
    assert path.read_bytes() == HAND_WRITTEN.encode()


def test_no_change_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    before = os.stat(path)
    edits = set_enabled(path, ["blog"], False)
    assert [(e.plugin, e.before, e.after, e.changed) for e in edits] == [
        ("blog", False, False, False)
    ]
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_new_section_goes_last_so_the_plugin_loads_last(tmp_path: Path) -> None:
    path = write(tmp_path, "[plugins.a]\nenabled = true\n[server]\nport = 1\n[plugins.b]\n")
    add_plugin_section(path, "c", params={"greeting": "Hello"})
    assert path.read_text().endswith(
        '[plugins.b]\n\n[plugins.c]\nenabled = true\n\n[plugins.c.params]\ngreeting = "Hello"\n'
    )
    assert [p.name for p in load_config(path).plugins] == ["a", "b", "c"]


def test_add_plugin_section_refuses_an_existing_one(tmp_path: Path) -> None:
    path = write(tmp_path, "[plugins.a]\nenabled = true\n")
    with pytest.raises(ConfigError, match=r"\[plugins.a\] already exists"):
        add_plugin_section(path, "a")
    assert path.read_text() == "[plugins.a]\nenabled = true\n"


def test_set_params_adds_a_params_table_after_the_plugins_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "[plugins.a]\nenabled = true\n\n# about b\n[plugins.b]\n")
    edits = set_params(path, "a", {"k": 1})
    assert edits[0].before is MISSING and edits[0].after == 1
    assert path.read_text() == (
        "[plugins.a]\nenabled = true\n\n[plugins.a.params]\nk = 1\n\n# about b\n[plugins.b]\n"
    )


def test_set_params_for_a_plugin_without_a_section(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 1\n")
    set_params(path, "a", {"k": "v"})
    assert path.read_text() == (
        '[server]\nport = 1\n\n[plugins.a]\nenabled = false\n\n[plugins.a.params]\nk = "v"\n'
    )


def test_new_key_keeps_the_tables_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, '[plugins.a]\n  route_path = "x"\n')
    set_enabled(path, ["a"], True)
    assert path.read_text() == '[plugins.a]\n  route_path = "x"\n  enabled = true\n'


def test_inline_tables_are_edited_in_place(tmp_path: Path) -> None:
    path = write(tmp_path, "[plugins]\na = {enabled = false, params = {k = 1}}\n")
    set_enabled(path, ["a"], True)
    set_params(path, "a", {"k": 2})
    assert path.read_text() == "[plugins]\na = {enabled = true, params = {k = 2}}\n"


def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, "# c\r\n[plugins.a]\r\nenabled = false\r\n")
    set_enabled(path, ["a", "b"], True)
    set_params(path, "a", {"k": 1})
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.startswith(b"# c\r\n[plugins.a]\r\nenabled = true\r\n")


def test_unset_unknown_key_suggests_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    with pytest.raises(ConfigError, match=r"'limt' is not set") as caught:
        unset_params(path, "blog", ["title", "limt"])
    assert caught.value.hint == "did you mean 'limit'?"
    assert path.read_bytes() == HAND_WRITTEN.encode()


def test_broken_toml_is_never_rewritten(tmp_path: Path) -> None:
    text = HAND_WRITTEN.replace("limit = 10", "limit = = 10")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        set_enabled(path, ["blog"], True)
    assert str(caught.value).startswith(f"{path}:14:9: invalid TOML")
    assert (caught.value.line, caught.value.col) == (14, 9)
    assert path.read_bytes() == text.encode()


def test_invalid_config_is_never_rewritten(tmp_path: Path) -> None:
    text = '[plugins.blog]\nenabled = "yes"\n'
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r":2:1: plugins.blog.enabled: expected a boolean"):
        set_params(path, "blog", {"k": 1})
    assert path.read_text() == text


def test_an_edit_that_would_break_the_config_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 1\n")
    with pytest.raises(ConfigError, match="refusing to write a config that would not load"):
        with edit_config(path) as document:
            document.document["server"]["port"] = "eighty"
    assert path.read_text() == "[server]\nport = 1\n"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as caught:
        set_enabled(tmp_path / "plughost.toml", ["a"], True)
    assert caught.value.hint is not None and "plughost init" in caught.value.hint
    assert not (tmp_path / "plughost.toml").exists()


def test_a_hand_edit_made_during_the_edit_is_not_lost(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    hand_edit = HAND_WRITTEN.replace("port    = 8081", "port    = 9000")
    with pytest.raises(ConfigChangedError, match="changed on disk"):
        with edit_config(path) as document:
            document.set_enabled("blog", True)
            path.write_text(hand_edit)
    assert path.read_text() == hand_edit
    assert sorted(os.listdir(tmp_path)) == ["plughost.toml"]


def test_failure_between_write_and_rename_leaves_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, HAND_WRITTEN)

    def crash(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        set_enabled(path, ["blog"], True)
    assert path.read_bytes() == HAND_WRITTEN.encode()
    assert sorted(os.listdir(tmp_path)) == ["plughost.toml"]


def test_leftover_temporary_files_are_removed(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    (tmp_path / ".plughost.toml.ab12_xyz.tmp").write_text("half a fi")
    (tmp_path / ".other.toml.ab12_xyz.tmp").write_text("not ours")
    set_enabled(path, ["blog"], True)
    assert sorted(os.listdir(tmp_path)) == [
        ".other.toml.ab12_xyz.tmp",
        "plughost.toml",
    ]


def test_file_mode_is_preserved(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    path.chmod(0o640)
    set_enabled(path, ["blog"], True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    real = write(tmp_path, HAND_WRITTEN, "real.toml")
    link = tmp_path / "plughost.toml"
    link.symlink_to(real)
    set_enabled(link, ["blog"], True)
    assert link.is_symlink()
    assert load_config(real).plugin("blog").enabled  # type: ignore[union-attr]


def calls_to(function: object) -> threading.Event:
    """An event set when a thread started after this call calls the C function ``function``."""
    seen = threading.Event()

    def profile(frame: object, event: str, arg: object) -> None:
        if event == "c_call" and arg is function:
            seen.set()

    threading.setprofile(profile)
    return seen


def test_a_writer_that_waited_for_the_lock_edits_the_new_file(tmp_path: Path) -> None:
    """The first writer replaces the file; the waiting one must not edit the old inode."""
    path = write(tmp_path, HAND_WRITTEN)
    old = os.open(path, os.O_RDONLY)
    fcntl.flock(old, fcntl.LOCK_EX)
    waiting = threading.Thread(target=set_enabled, args=(path, ["blog"], True))
    tried_lock = calls_to(fcntl.flock)
    try:
        waiting.start()
        assert tried_lock.wait(10), "the second writer never tried to lock"
    finally:
        threading.setprofile(None)
    temp = tmp_path / "new.toml"
    temp.write_text(HAND_WRITTEN.replace("port    = 8081", "port    = 9000"))
    os.replace(temp, path)
    os.close(old)
    waiting.join(timeout=10)
    assert "port    = 9000" in path.read_text()
    assert load_config(path).plugin("blog").enabled  # type: ignore[union-attr]


def test_a_second_writer_waits_for_the_lock_then_gives_up(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ConfigError, match="another plughost command is editing"):
            with edit_config(path, lock_timeout=0.2) as document:
                document.set_enabled("blog", True)
    finally:
        os.close(fd)
    assert path.read_bytes() == HAND_WRITTEN.encode()


def test_create_config_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write(tmp_path, "# mine\n")
    with pytest.raises(ConfigError, match="already exists; nothing was written") as caught:
        create_config(path, "[server]\n")
    assert caught.value.hint == "use --force to replace it"
    assert path.read_text() == "# mine\n"
    create_config(path, "[server]\n", force=True)
    assert path.read_text() == "[server]\n"


def test_create_config_with_a_key_is_private(tmp_path: Path) -> None:
    private = tmp_path / "private.toml"
    create_config(private, '[auth]\napikey = "s3cret"\n')
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    public = tmp_path / "public.toml"
    umask = os.umask(0o022)
    try:
        create_config(public, "[server]\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(public.stat().st_mode) == 0o644


def test_create_config_refuses_an_invalid_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'sever'"):
        create_config(tmp_path / "plughost.toml", "[sever]\n")
    assert not (tmp_path / "plughost.toml").exists()


def test_enable_a_plugin_written_only_as_a_params_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[plugins.a.params]\nk = 1\n")
    set_enabled(path, ["a"], True)
    assert path.read_text() == "[plugins.a]\nenabled = true\n[plugins.a.params]\nk = 1\n"
    assert load_config(path).plugin("a").enabled  # type: ignore[union-attr]


def test_dotted_keys_are_edited_and_odd_shapes_are_refused(tmp_path: Path) -> None:
    text = "[plugins]\na.enabled = false\n"
    path = write(tmp_path, text)
    set_enabled(path, ["a"], True)
    assert path.read_text() == "[plugins]\na.enabled = true\n"
    with pytest.raises(ConfigError, match=r"cannot edit \[plugins.a\]") as caught:
        set_params(path, "a", {"k": 1})
    assert caught.value.hint == "write it as a [plugins.a] section"
    assert path.read_text() == "[plugins]\na.enabled = true\n"
