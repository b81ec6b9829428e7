"""Where an edited plugin imports under ``--reload``: on the event loop while it proves quick.

An import runs in a worker thread so that a long one does not hold up the requests
being served. The hop there and back is cheap on an idle machine, but on a busy one
each way waits for a CPU: a few milliseconds of a reload's ten. So, like a sync
endpoint (:mod:`plughost.request.offload`), a plugin earns the right to import on
the event loop, where its ``setup()`` runs anyway, when

- its serving version imported within :data:`IMPORT_BUDGET` (at start-up every plugin
  imports on the loop, nothing being served yet, so each has a measured import);
- it is a one-file plugin from the plugins folder; and
- its source imports no module this process has not imported yet (a new dependency
  is where a long import most often comes from).

An import's time is its CPU time, or the whole time it took if it blocked (see
:class:`~plughost.reload.importer.Stopwatch`): waiting for a CPU does not count.
An import on the loop that overruns the budget, or that fails where the same import
in a thread succeeds (``asyncio.run()`` at import time, a request to this very server
that times out), moves the plugin's imports to a worker thread for good. An import that
failed on the loop that way is retried in a thread at once, in the same transaction, so
nothing but the retry's outcome is reported. ``plughost reload`` and
the workers' coordinator always import in threads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from ..errors import PluginImportError
from .importer import imports_new_modules

if TYPE_CHECKING:
    from ..discovery import PluginSource
    from ..errors import PlughostError
    from .stage import PluginVersion

__all__ = ["IMPORT_BUDGET", "ImportPlacement"]

logger: Final = logging.getLogger("plughost.reload")
#: seconds an import may take and still run on the event loop next time
IMPORT_BUDGET: Final = 0.006


class ImportPlacement:
    """Which plugins import on the event loop, learnt from how their imports went."""

    def __init__(self, budget: float = IMPORT_BUDGET) -> None:
        self.budget = budget
        #: plugins whose imports run in worker threads for good
        self.threaded: set[str] = set()

    def on_loop(self, serving: PluginVersion | None, source: PluginSource) -> bool:
        """True when the next import of ``source`` may run on the event loop."""
        if serving is None or source.name in self.threaded:
            return False
        if source.is_package or source.distribution is not None:
            return False
        if serving.imported.seconds > self.budget:
            return False
        try:
            text = source.path.read_bytes()
        except OSError:
            return False
        return not imports_new_modules(text)

    def loaded(self, version: PluginVersion) -> None:
        """A load on the event loop worked; a long import sends the plugin to threads."""
        if version.imported.seconds > self.budget:
            self._to_threads(
                version.name, f"its import took {version.imported.seconds * 1000:.0f} ms"
            )

    def retry_in_thread(self, name: str, error: PlughostError, seconds: float) -> bool:
        """A load on the event loop failed after ``seconds``: True to try it in a thread.

        Only an import that failed the way running on the loop makes imports fail
        is retried: asyncio refusing to start a loop inside the running one, or a
        timeout (the import waited for something the held-up loop would have done).
        Anything else fails the same way in a thread, and running a plugin's code a
        second time would repeat whatever it did.
        """
        if not isinstance(error, PluginImportError):
            return False  # params, setup(): they run on the loop either way
        if seconds > self.budget:
            self._to_threads(name, f"its import took {seconds * 1000:.0f} ms")
        cause = error.__cause__
        if isinstance(cause, TimeoutError):
            return True
        message = str(cause)
        return type(cause) is RuntimeError and (
            "event loop" in message or "another loop" in message
        )

    def retried(self, name: str) -> None:
        """The load that failed on the event loop worked in a thread."""
        self._to_threads(name, "it failed on the event loop and loaded in a thread")

    def _to_threads(self, name: str, why: str) -> None:
        if name not in self.threaded:
            self.threaded.add(name)
            logger.info("%s: %s; it imports in a worker thread from now on", name, why)
