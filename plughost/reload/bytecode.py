"""Plugin code objects from checked-hash ``.pyc`` files (PEP 552): never stale.

A timestamp-checked ``.pyc`` trusts a file's modification time and size, and an edit
that keeps both (two saves within the clock's resolution) would run old code. A
checked-hash ``.pyc`` records a hash of the source it was compiled from, and is used
only when the bytes just read hash to it; any other ``.pyc`` is compiled over. So the
bytes the importer read are always the bytes that run, and an unchanged plugin skips
compiling (most of the time a small plugin takes to load).
"""

from __future__ import annotations

import atexit
import importlib.util
import marshal
import os
import sys
import threading
import time
from types import CodeType
from typing import Final

__all__ = ["compile_plugin", "wait_for_writes"]

#: the flags field of a checked-hash pyc: hash-based (bit 0), check the source (bit 1)
_CHECKED_HASH: Final = (0b11).to_bytes(4, "little")
_HEADER: Final = 16


def compile_plugin(source: bytes, path: str) -> CodeType:
    """The code object of ``source`` (the bytes read from ``path``).

    Reuses the checked-hash pyc beside ``path`` when it was compiled from these very
    bytes; otherwise compiles them and writes that pyc (unless Python was told not to
    write bytecode, or the folder is read-only).
    """
    try:
        cache = importlib.util.cache_from_source(path)
    except NotImplementedError:  # an interpreter without a cache tag
        return compile(source, path, "exec", dont_inherit=True)
    if os.path.islink(os.path.dirname(cache)):
        # A __pycache__ that links elsewhere is not the plugin's own: neither read nor write it.
        return compile(source, path, "exec", dont_inherit=True)
    header = importlib.util.MAGIC_NUMBER + _CHECKED_HASH + importlib.util.source_hash(source)
    code = _cached(cache, header, path)
    if code is None:
        code = compile(source, path, "exec", dont_inherit=True)
        if not sys.dont_write_bytecode:
            _writer.add(cache, header + marshal.dumps(code))
    return code


#: seconds after the last compile before pycs are written: never while a load runs, nor
#: while the requests right after a reload are served (a rename over an old pyc costs
#: about a millisecond of CPU here)
WRITE_DELAY: Final = 0.5


class _Writer:
    """Writes the pycs asked for in one batch, :data:`WRITE_DELAY` s after the last ask."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Start afresh: in a forked child, the parent's timer thread, its pending
        writes and the locks it may have held are not the child's."""
        self._lock = threading.Lock()
        #: held while a batch is written, so that :meth:`flush` returns after any write
        self._writing = threading.Lock()
        self._pending: dict[str, bytes] = {}
        self._last = 0.0
        self._timer: threading.Timer | None = None

    def add(self, cache: str, data: bytes) -> None:
        with self._lock:
            self._pending[cache] = data
            self._last = time.monotonic()
            if self._timer is None:
                self._start(WRITE_DELAY)

    def _start(self, delay: float) -> None:
        self._timer = threading.Timer(delay, self._due)
        self._timer.name = "plughost-pyc"
        self._timer.daemon = True  # the exit flushes instead (see flush)
        self._timer.start()

    def _due(self) -> None:
        with self._lock:
            wait = self._last + WRITE_DELAY - time.monotonic()
            if wait > 0:
                self._start(wait)
                return
        self.flush()

    def flush(self) -> None:
        """Write what is pending now; return once no write is under way."""
        with self._writing:
            with self._lock:
                if self._timer is not None:
                    self._timer.cancel()
                batch, self._pending, self._timer = self._pending, {}, None
            _write_all(batch)


_writer: Final = _Writer()
atexit.register(_writer.flush)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_writer.forget)


def wait_for_writes() -> None:
    """Write every pyc asked for so far now, rather than a moment later."""
    _writer.flush()


def _write_all(batch: dict[str, bytes]) -> None:
    for cache, data in batch.items():
        _write(cache, data)


def _cached(cache: str, header: bytes, path: str) -> CodeType | None:
    try:
        with open(cache, "rb") as file:
            data = file.read()
    except OSError:
        return None
    if data[:_HEADER] != header:
        return None
    try:
        code = marshal.loads(memoryview(data)[_HEADER:])
    except (EOFError, ValueError, TypeError):
        return None
    # A project folder moved elsewhere keeps its pycs; tracebacks must name the new path.
    if not isinstance(code, CodeType) or code.co_filename != path:
        return None
    return code


def _write(cache: str, data: bytes) -> None:
    """Write ``data`` to ``cache`` atomically; a failure only costs the next compile."""
    temporary = f"{cache}.{os.getpid()}.{threading.get_ident()}.tmp"
    folder = os.path.dirname(cache)
    try:
        if sys.pycache_prefix:
            os.makedirs(folder, exist_ok=True)
        elif not os.path.isdir(folder):
            # Only __pycache__ itself: a plugin folder removed meanwhile stays removed.
            os.mkdir(folder)
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, cache)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
