"""While a reload imports the new version, the old one's lazy imports see only old code."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from plughost.testing import ClientFactory, ProjectFactory, host_of


def init(version: int, slow: bool = False) -> str:
    pause = (
        "import pathlib, time\n"
        "pathlib.Path(__file__).with_name('importing').write_text('yes')\n"
        "time.sleep(1.5)\n"
        if slow
        else ""
    )
    return (
        "import plughost\n"
        f"{pause}"
        f"VERSION = {version}\n\n"
        "@plughost.route('/lazy')\n"
        "async def lazy():\n"
        "    from .sub import value\n"
        "    from . import VERSION as package_version\n"
        "    return {'sub': value(), 'package': package_version}\n"
    )


def sub(version: int) -> str:
    return f"def value():\n    return {version}\n"


async def test_old_version_lazy_imports_never_see_the_new_one_half_imported(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"pkg/__init__.py": init(1), "pkg/sub.py": sub(1)})
    client = await plughost_client(project)
    host = host_of(client)
    old = host.versions["pkg"].module
    # No request has imported .sub yet; the next version imports slowly.
    (project.plugins_dir / "pkg" / "__init__.py").write_text(init(2, slow=True))
    loading = asyncio.create_task(host.load("pkg"))
    marker = project.plugins_dir / "pkg" / "importing"
    async with asyncio.timeout(30):
        while not marker.exists():
            await asyncio.sleep(0.01)
    during: Any = await (await client.get("/lazy")).json()
    assert during == {"sub": 1, "package": 1}
    assert sys.modules[old.__name__] is old
    result = await loading
    assert result.ok, result.error
    new = host.versions["pkg"].module
    assert new.__name__ == old.__name__
    assert sys.modules[new.__name__] is new
    after: Any = await (await client.get("/lazy")).json()
    assert after == {"sub": 1, "package": 2}


async def test_a_failed_staged_import_leaves_no_trace(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    project = plughost_project({"pkg/__init__.py": init(1), "pkg/sub.py": sub(1)})
    client = await plughost_client(project)
    host = host_of(client)
    before = set(sys.modules)
    (project.plugins_dir / "pkg" / "__init__.py").write_text(
        init(2) + "from .sub import value\nraise RuntimeError('broken')\n"
    )
    assert not (await host.load("pkg")).ok
    assert set(sys.modules) == before
    assert await (await client.get("/lazy")).json() == {"sub": 1, "package": 1}
