"""A project served in this process on a free 127.0.0.1 port, as ``plughost run`` serves it."""

from __future__ import annotations

import tempfile
import textwrap
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

__all__ = ["command", "served"]


@asynccontextmanager
async def served(plugins: Mapping[str, str], config: str = "") -> AsyncIterator[tuple[str, int]]:
    """Serve ``plugins`` (name -> source) with extra TOML ``config``; yields (host, port)."""
    from plughost.config import load_config
    from plughost.request.entry import build_server
    from plughost.server import open_host

    with tempfile.TemporaryDirectory(prefix="plughost-reliability-") as folder:
        root = Path(folder)
        (root / "plugins").mkdir()
        sections = []
        for name, source in plugins.items():
            (root / "plugins" / f"{name}.py").write_text(textwrap.dedent(source))
            sections.append(f"[plugins.{name}]\nenabled = true\n")
        (root / "plughost.toml").write_text(textwrap.dedent(config) + "\n" + "\n".join(sections))
        host = await open_host(load_config(root / "plughost.toml"))
        runner = web.ServerRunner(build_server(host, access_log=None), shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield "127.0.0.1", int(port)
        finally:
            await runner.cleanup()
            await host.close()


def command(script: str, argv: list[str] | None) -> str:
    """The command that ran ``script`` with ``argv``, as a reader would type it."""
    import sys

    return " ".join([f"python bench/reliability/{script}", *(argv or sys.argv[1:])])
