"""Under --reload, an edited plugin imports on the event loop while it proves quick."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from _support import edit_and_wait
from aiohttp.test_utils import TestClient

from plughost.testing import ClientFactory, Project, ProjectFactory, reloader_of

pytestmark = pytest.mark.usefixtures("writes_bytecode")


def plugin(version: int, *, pause: float = 0.0, imports: str = "", then: str = "") -> str:
    """A plugin answering the thread it was imported on; ``pause`` s of work at import,
    then the statement ``then``."""
    lines = ["import asyncio", "import threading", "import time", "import plughost"]
    if imports:
        lines.append(f"import {imports}")
    lines += [
        f"VERSION = {version}",
        f"time.sleep({pause})",
        then,
        "IMPORTED_ON = threading.current_thread().name",
        "",
        "@plughost.route('/where')",
        "async def where():",
        "    return {'version': VERSION, 'thread': IMPORTED_ON}",
        "",
    ]
    return "\n".join(lines)


async def imported_on(client: Any, version: int) -> str:
    response = await client.get("/where")
    body: dict[str, Any] = await response.json()
    assert body["version"] == version
    thread: str = body["thread"]
    return thread


LOOP = threading.main_thread().name
#: a budget no quick import overruns on a loaded machine, and SLOW always does
BUDGET = 0.1
SLOW = 0.3


async def reloading(plughost_client: ClientFactory, project: Project) -> TestClient[Any, Any]:
    client = await plughost_client(project, reload=True)
    reloader_of(client).imports.budget = BUDGET
    return client


async def test_a_quick_plugin_imports_its_edits_on_the_event_loop(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"p": plugin(1)})
    client = await reloading(plughost_client, project)
    path = project.plugins_dir / "p.py"
    for version in (2, 3):
        await edit_and_wait(client, path, plugin(version), "p")
        assert await imported_on(client, version) == LOOP


async def test_a_plugin_slow_to_import_imports_its_edits_in_a_thread(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"p": plugin(1, pause=SLOW)})
    client = await reloading(plughost_client, project)
    await edit_and_wait(client, project.plugins_dir / "p.py", plugin(2, pause=SLOW), "p")
    assert await imported_on(client, 2) != LOOP


async def test_an_edit_importing_a_new_module_imports_in_a_thread(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "placement_newdep.py").write_text("ANSWER = 42\n")
    monkeypatch.syspath_prepend(str(library))
    assert "placement_newdep" not in sys.modules
    project = plughost_project({"p": plugin(1)})
    client = await reloading(plughost_client, project)
    path = project.plugins_dir / "p.py"
    try:
        await edit_and_wait(client, path, plugin(2, imports="placement_newdep"), "p")
        assert await imported_on(client, 2) != LOOP
        # Imported now: the next edit is quick again, and back on the loop.
        await edit_and_wait(client, path, plugin(3, imports="placement_newdep"), "p")
        assert await imported_on(client, 3) == LOOP
    finally:
        sys.modules.pop("placement_newdep", None)


async def test_an_edit_that_makes_the_import_slow_stalls_once_then_goes_to_a_thread(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    project = plughost_project({"p": plugin(1)})
    client = await reloading(plughost_client, project)
    path = project.plugins_dir / "p.py"
    with caplog.at_level(logging.INFO, "plughost.reload"):
        await edit_and_wait(client, path, plugin(2, pause=SLOW), "p")
    assert await imported_on(client, 2) == LOOP
    assert "imports in a worker thread from now on" in caplog.text
    assert "p" in reloader_of(client).imports.threaded
    # Quick again, but it stays in the threads.
    await edit_and_wait(client, path, plugin(3), "p")
    assert await imported_on(client, 3) != LOOP


async def test_a_package_plugin_imports_its_edits_in_a_thread(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"pkg/__init__.py": plugin(1)})
    client = await reloading(plughost_client, project)
    await edit_and_wait(client, project.plugins_dir / "pkg" / "__init__.py", plugin(2), "pkg")
    assert await imported_on(client, 2) != LOOP


async def test_an_import_that_cannot_run_on_the_event_loop_loads_in_a_thread(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"p": plugin(1)})
    client = await reloading(plughost_client, project)
    path = project.plugins_dir / "p.py"
    # asyncio.run() refuses to run on a running loop; in a thread it works.
    uses_asyncio_run = plugin(
        2,
        then="work = asyncio.sleep(0)\n"
        "try:\n    asyncio.run(work)\nexcept RuntimeError:\n    work.close()\n    raise",
    )
    result = await edit_and_wait(client, path, uses_asyncio_run, "p", ok=None)
    assert result.ok, result.error
    assert await imported_on(client, 2) != LOOP
    assert "p" in reloader_of(client).imports.threaded


async def test_a_slow_failing_import_stalls_once_then_goes_to_a_thread(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"p": plugin(1)})
    client = await reloading(plughost_client, project)
    path = project.plugins_dir / "p.py"
    broken = plugin(2, pause=SLOW, then="raise RuntimeError('broken on purpose')")
    result = await edit_and_wait(client, path, broken, "p", ok=False)
    assert "broken on purpose" in str(result.error)
    assert "p" in reloader_of(client).imports.threaded
    await edit_and_wait(client, path, plugin(3), "p")
    assert await imported_on(client, 3) != LOOP


async def test_a_syntax_error_keeps_the_plugin_on_the_event_loop(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"p": plugin(1)})
    client = await reloading(plughost_client, project)
    path = project.plugins_dir / "p.py"
    await edit_and_wait(client, path, plugin(2) + "\ndef broken(:\n", "p", ok=False)
    assert not reloader_of(client).imports.threaded
    await edit_and_wait(client, path, plugin(3), "p")
    assert await imported_on(client, 3) == LOOP


async def test_a_plugin_whose_setup_fails_on_the_loop_runs_once(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    project = plughost_project({"p": plugin(1)})
    client = await reloading(plughost_client, project)
    ran = tmp_path / "ran"
    failing_setup = plugin(2) + (
        f"\ndef setup(host):\n    with open({str(ran)!r}, 'a') as f:\n        f.write('ran ')\n"
        "    raise ValueError('setup fails the same way in a thread')\n"
    )
    result = await edit_and_wait(client, project.plugins_dir / "p.py", failing_setup, "p", ok=False)
    assert "setup fails the same way" in str(result.error)
    assert ran.read_text() == "ran ", "no second run of a plugin's code for nothing"
    assert not reloader_of(client).imports.threaded
