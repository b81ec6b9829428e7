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

The first import on the loop that overruns the budget moves the plugin's imports to
a worker thread for good: one stall at most, then never again. ``plughost reload`` and
the workers' coordinator always import in threads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from .importer import imports_new_modules

if TYPE_CHECKING:
    from ..discovery import PluginSource
    from .stage import PluginVersion

__all__ = ["IMPORT_BUDGET", "ImportPlacement"]

logger: Final = logging.getLogger("plughost.reload")
#: seconds an import may take and still run on the event loop next time
IMPORT_BUDGET: Final = 0.006


class ImportPlacement:
    """Which plugins import on the event loop, learnt from how long their imports took."""

    def __init__(self, budget: float = IMPORT_BUDGET) -> None:
        self.budget = budget
        #: plugins whose imports run in worker threads for good
        self.threaded: set[str] = set()

    def on_loop(self, serving: PluginVersion | None, source: PluginSource | None) -> bool:
        """True when the next import of ``source`` may run on the event loop."""
        if serving is None or source is None or serving.name in self.threaded:
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

    def learn(self, loaded: PluginVersion | None) -> None:
        """Record an import that ran on the event loop; a long one sends the plugin to threads."""
        if loaded is None or loaded.imported.seconds <= self.budget:
            return
        self.threaded.add(loaded.name)
        logger.info(
            "%s took %.0f ms to import; it imports in a worker thread from now on",
            loaded.name,
            loaded.imported.seconds * 1000,
        )
