"""Plugin code objects from checked-hash ``.pyc`` files (PEP 552): never stale.

A timestamp-checked ``.pyc`` trusts a file's modification time and size, and an edit
that keeps both (two saves within the clock's resolution) would run old code. A
checked-hash ``.pyc`` records a hash of the source it was compiled from, and is used
only when the bytes just read hash to it; any other ``.pyc`` is compiled over. So the
bytes the importer read are always the bytes that run, and an unchanged plugin skips
compiling (most of the time a small plugin takes to load).
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
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
            try:
                _writer().submit(_write, cache, header + marshal.dumps(code))
            except RuntimeError:  # the interpreter is exiting: the next start compiles
                pass
    return code


_writers: dict[int, ThreadPoolExecutor] = {}
_writers_lock: Final = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    """This process's pyc writer: a write (a rename over the old pyc, about a millisecond
    here) is no part of the load that asked for it, nor of the reload's latency."""
    with _writers_lock:
        writer = _writers.get(os.getpid())  # a forked worker starts a writer of its own
        if writer is None:
            writer = _writers[os.getpid()] = ThreadPoolExecutor(
                1, thread_name_prefix="plughost-pyc"
            )
        return writer


def wait_for_writes() -> None:
    """Return once every pyc asked for so far is written (or failed to be)."""
    with _writers_lock:
        writer = _writers.get(os.getpid())
    if writer is not None:
        writer.submit(lambda: None).result()


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
