"""What runs in each gunicorn worker: a host, the server answering from it, its membership.

aiohttp's ``GunicornWebWorker`` awaits the application factory and runs the
:class:`aiohttp.web.AppRunner` it returns. plughost serves through aiohttp's
low-level server (it swaps whole route tables), so :class:`HostRunner` is an
``AppRunner`` whose server is the host's: the worker class binds gunicorn's
sockets to it, notifies the arbiter, and stops it gracefully, as for any
aiohttp application.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from ..config import Config, load_config
from ..errors import ConfigError
from ..host import Host
from ..request.entry import build_server
from ..server import open_host
from .member import Member

__all__ = ["HostRunner", "runner_factory"]

logger: Final = logging.getLogger("plughost.workers")


class HostRunner(web.AppRunner):
    """An ``AppRunner`` serving a plughost host in this worker."""

    def __init__(self, config: Config, socket_path: str, access_log: bool) -> None:
        # aiohttp waits this long for handlers still running, then as long again.
        super().__init__(web.Application(), shutdown_timeout=config.server.shutdown_timeout / 2)
        self.config: Final = config
        self.member: Final = Member(socket_path)
        self.host: Host | None = None
        self._access_log = access_log

    async def _make_server(self) -> web.Server:
        member = self.member
        # A worker gunicorn starts later (after a crash) loads what is on disk now,
        # as the others have committed it; the start-up config if the file is broken.
        try:
            fresh = load_config(self.config.path)
            # --workers N overrides the file, and picks the shared task store.
            server = dataclasses.replace(fresh.server, workers=self.config.server.workers)
            config = dataclasses.replace(fresh, server=server)
        except ConfigError as error:
            logger.error("%s; this worker starts with the config the server started with", error)
            config = self.config
        self.host = host = await open_host(config, status=member.status, deploy=member.deploy)
        await member.join(host)
        access = logging.getLogger("aiohttp.access") if self._access_log else None
        return build_server(host, access_log=access)

    async def shutdown(self) -> None:
        if self.host is not None:
            await self.host.shutdown()

    async def _cleanup_server(self) -> None:
        await self.member.leave()
        if self.host is not None:
            await self.host.close()


def runner_factory(
    config: Config, socket_path: str, access_log: bool
) -> Callable[[], Awaitable[web.AppRunner]]:
    """The coroutine function gunicorn's aiohttp worker awaits for its runner."""

    async def make_runner() -> web.AppRunner:
        return HostRunner(config, socket_path, access_log)

    return make_runner
