"""Retiring a replaced plugin version: wait for what runs inside it, then close it.

The request entry (:mod:`plughost.request.entry`) counts, on every version whose code a
route's handler runs, the requests inside it (the :class:`~plughost.typedefs.Inflight`
protocol). A retired version is flagged ``draining``; the last request out sets its
``drained`` event, and :func:`retire` closes it then, or when ``drain_timeout`` runs out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..tasks import TaskStore
    from .stage import PluginVersion

__all__ = ["close_quietly", "retire"]

logger: Final = logging.getLogger("plughost.host")


async def retire(version: PluginVersion, tasks: TaskStore, drain_timeout: float) -> None:
    """Close ``version`` once its requests and tasks finish, or ``drain_timeout`` passes.

    Requests still running on it and tasks it started get ``drain_timeout`` seconds
    between them; tasks still running then are cancelled.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + drain_timeout
    version.draining = True
    if version.inflight:
        version.drained.clear()
        try:
            await asyncio.wait_for(version.drained.wait(), deadline - loop.time())
        except TimeoutError:
            logger.warning(
                "plugin %r: %d request(s) still running after drain_timeout; closing anyway",
                version.name,
                version.inflight,
            )
    await tasks.drain(version.handle, max(0.0, deadline - loop.time()))
    await close_quietly(version)


async def close_quietly(version: PluginVersion) -> None:
    """Close ``version``'s handle; a failure is logged, never raised."""
    try:
        await version.handle.aclose()
    except Exception as error:
        logger.error("plugin %r: close failed: %s", version.name, error, exc_info=error)
