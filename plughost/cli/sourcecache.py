"""Remember what :func:`plughost.cli.static.analyse` found, as Python remembers byte-code.

``plughost plugins list`` reads every plugin's source on each run; parsing is
most of its own cost. The results are kept in ``plugins/__pycache__/``, keyed by
each file's modification time (ns) and size, like ``.pyc`` files, and the cache
is not written when Python is told not to write byte-code
(``PYTHONDONTWRITEBYTECODE``). A missing, stale or unreadable cache is rebuilt.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from .sourceinfo import SourceInfo

__all__ = ["CACHE_NAME", "analyse_cached"]

CACHE_NAME: Final = "plughost-sources.cache"
#: bump when SourceInfo or analyse() changes what they record
_VERSION: Final = 1
_Stamp = tuple[int, int, str | None]


def _cache_path(plugins_dir: Path) -> Path:
    return plugins_dir / "__pycache__" / CACHE_NAME


def _read(path: Path) -> dict[str, tuple[_Stamp, tuple[Any, ...]]]:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, tuple) or len(data) != 3 or data[:2] != (_VERSION, sys.version):
        return {}
    entries = data[2]
    return entries if isinstance(entries, dict) else {}


def _write(path: Path, entries: dict[str, tuple[_Stamp, tuple[Any, ...]]]) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temp.write_bytes(marshal.dumps((_VERSION, sys.version, entries)))
        os.replace(temp, path)


def _analyse(path: Path, route_path: str | None) -> SourceInfo:
    from .static import analyse

    return analyse(path, route_path)


def analyse_cached(
    plugins_dir: Path, sources: Sequence[tuple[Path, str | None]]
) -> list[SourceInfo]:
    """:func:`~plughost.cli.static.analyse` for each ``(path, route_path)``, from the cache
    when fresh; the reader's code is loaded only when a file must be read.
    """
    cache_path = _cache_path(plugins_dir)
    cached = _read(cache_path)
    fresh: dict[str, tuple[_Stamp, tuple[Any, ...]]] = {}
    results: list[SourceInfo] = []
    for path, route_path in sources:
        key = str(path)
        try:
            status = os.stat(path)
        except OSError:
            results.append(_analyse(path, route_path))
            continue
        stamp: _Stamp = (status.st_mtime_ns, status.st_size, route_path)
        hit = cached.get(key)
        if hit is not None and hit[0] == stamp:
            kind, routes, hooks, wrappers, error = hit[1]
            info = SourceInfo(kind, routes, hooks, wrappers, error)
        else:
            info = _analyse(path, route_path)
        fresh[key] = (stamp, (info.kind, info.routes, info.hooks, info.wrappers, info.error))
        results.append(info)
    if fresh != cached and not sys.dont_write_bytecode:
        _write(cache_path, fresh)
    return results
