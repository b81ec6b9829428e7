"""Hot reload through real watchfiles events on real files."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plughost.host import PluginState
from plughost.testing import Project, wait_for_load

V1 = '''
import plughost

@plughost.route("/hello")
async def hello():
    return {"version": VERSION}

VERSION = 1
'''


def version(n: int) -> str:
    return V1.replace("VERSION = 1", f"VERSION = {n}")


@pytest.fixture(autouse=True)
def writes_bytecode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reload tests run as a user's Python does: writing .pyc files."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    yield


async def edit_and_wait(client: Any, path: Path, text: str, name: str, *, ok: bool | None = True) -> Any:
    waiter = asyncio.create_task(wait_for_load(client.plughost, name, ok=ok))
    await asyncio.sleep(0)
    path.write_text(text)
    return await waiter


async def test_edit_serves_new_code(plughost_project: Any, plughost_client: Any) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    assert await (await client.get("/hello")).json() == {"version": 1}
    for n in range(2, 6):
        result = await edit_and_wait(client, project.plugins_dir / "hello.py", version(n), "hello")
        assert result.ok
        assert await (await client.get("/hello")).json() == {"version": n}


async def test_broken_edit_keeps_old_version(plughost_project: Any, plughost_client: Any) -> None:
    project: Project = plughost_project({"hello": version(1)})
    client = await plughost_client(project, reload=True)
    path = project.plugins_dir / "hello.py"
    result = await edit_and_wait(client, path, version(2) + "\ndef broken(:\n", "hello", ok=False)
    assert result.error is not None
    assert "hello.py:10" in str(result.error)
    resp = await client.get("/hello")
    assert await resp.json() == {"version": 1}
    status = client.plughost.status()["hello"]
    assert status.state is PluginState.LOADED and "SyntaxError" in (status.error or "")
    result = await edit_and_wait(client, path, version(3), "hello")
    assert await (await client.get("/hello")).json() == {"version": 3}
    assert client.plughost.status()["hello"].error is None
