"""Plugin code is cached in checked-hash .pyc files, and a cached version never runs stale."""

from __future__ import annotations

import importlib.util
import marshal
import os
import py_compile
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from plughost.config import load_config
from plughost.errors import PluginImportError
from plughost.host import Host
from plughost.reload.bytecode import wait_for_writes
from plughost.testing import ClientFactory, ProjectFactory, host_of

pytestmark = pytest.mark.usefixtures("writes_bytecode")


def plugin(word: str) -> str:
    return f"import plughost\n\n@plughost.route('/word')\nasync def word():\n    return {word!r}\n"


def pyc_of(path: Path) -> Path:
    return Path(importlib.util.cache_from_source(str(path)))


def rewrite_keeping_stat(path: Path, text: str) -> None:
    """Write ``text`` (as long as what is there) and put the modification time back:
    two saves within one tick of a coarse clock."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


async def word(client: Any) -> str:
    response = await client.get("/word")
    assert response.status == 200
    text: str = await response.text()
    return text


async def test_an_edit_that_keeps_size_and_mtime_still_serves_the_new_code(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"p": plugin("one")})
    path = project.plugins_dir / "p.py"
    client = await plughost_client(project)
    assert await word(client) == "one"
    wait_for_writes()
    assert pyc_of(path).is_file()
    rewrite_keeping_stat(path, plugin("two"))
    result = await host_of(client).load("p")
    assert result.ok, result.error
    assert await word(client) == "two"


async def test_a_timestamp_pyc_written_by_python_itself_is_not_trusted(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"p": plugin("one")})
    path = project.plugins_dir / "p.py"
    py_compile.compile(str(path), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    rewrite_keeping_stat(path, plugin("two"))
    # Python's own import would run "one" from that pyc; plughost runs the file.
    client = await plughost_client(project)
    assert await word(client) == "two"
    wait_for_writes()
    flags = int.from_bytes(pyc_of(path).read_bytes()[4:8], "little")
    assert flags == 0b11, "plughost leaves a checked-hash pyc, which Python checks too"


async def test_a_damaged_pyc_is_compiled_over(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"p": plugin("one")})
    path = project.plugins_dir / "p.py"
    client = await plughost_client(project)
    wait_for_writes()
    cache = pyc_of(path)
    good = cache.read_bytes()
    cache.write_bytes(good[:20])  # the right header, then a cut-off code object
    result = await host_of(client).load("p")
    assert result.ok, result.error
    assert await word(client) == "one"
    wait_for_writes()
    assert cache.read_bytes() == good


async def test_a_moved_project_names_its_new_files_in_errors(
    plughost_project: ProjectFactory, tmp_path: Path
) -> None:
    broken = "import plughost\n\n\nraise RuntimeError('boom')\n"
    project = plughost_project({"p": broken}, root=tmp_path / "before")
    first = Host(load_config(project.config_path))
    try:
        assert not (await first.start())[0].ok
    finally:
        await first.close()
    wait_for_writes()
    assert pyc_of(project.plugins_dir / "p.py").is_file()
    moved = tmp_path / "after"
    shutil.move(project.root, moved)
    host = Host(load_config(moved / "plughost.toml"))
    try:
        (result,) = await host.start()
    finally:
        await host.close()
    assert isinstance(result.error, PluginImportError)
    assert result.error.path == moved / "plugins" / "p.py"
    assert result.error.line == 4


async def test_no_pyc_is_written_when_python_is_told_not_to(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    project = plughost_project({"p": plugin("one")})
    client = await plughost_client(project)
    assert await word(client) == "one"
    wait_for_writes()
    assert not (project.plugins_dir / "__pycache__").exists()


async def test_a_pycache_linked_out_of_the_plugins_folder_is_neither_read_nor_written(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    project = plughost_project({"p": plugin("one")})
    path = project.plugins_dir / "p.py"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A pyc there, compiled from other code, with the header these bytes hash to.
    py_compile.compile(
        str(path),
        cfile=str(elsewhere / pyc_of(path).name),
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    )
    forged = elsewhere / pyc_of(path).name
    other = compile(plugin("evil"), str(path), "exec")
    forged.write_bytes(forged.read_bytes()[:16] + marshal.dumps(other))
    (project.plugins_dir / "__pycache__").symlink_to(elsewhere, target_is_directory=True)
    client = await plughost_client(project)
    assert await word(client) == "one"
    wait_for_writes()
    assert [p.name for p in elsewhere.iterdir()] == [forged.name]
