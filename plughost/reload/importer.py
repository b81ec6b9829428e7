"""Import plugins into fresh module objects and collect what they declare.

Each project's plugins live in a private package namespace
(``_plughost_<hash of the plugins folder>``), so relative imports work inside
plugin packages and helper modules (``from . import _shared``), and two
projects in one process never collide. Plugin code runs from the bytes just
read, never from a timestamp-checked ``.pyc``, which can serve stale code after a
quick edit (see :mod:`plughost.reload.bytecode`).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any, Final

from ..discovery import PluginSource
from ..errors import PluginError, PluginImportError
from .bytecode import compile_plugin

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

__all__ = [
    "ImportedPlugin",
    "blame_exception",
    "describe",
    "helper_imports",
    "import_error",
    "import_plugin",
    "imports_new_modules",
    "module_objects",
    "namespace_for",
    "short_traceback",
    "Stopwatch",
]

_PREFIX: Final = "_plughost_"
#: the name prefix a new version is imported under, before it takes the plugin's name
_STAGING: Final = "_staging_"
_lock = threading.Lock()
_namespaces: dict[str, Path] = {}
#: top-level modules of packaged plugins: loaded from source, like the plugins folder
_packaged_roots: set[str] = set()


#: each plugins folder's resolved path; resolving it once per plugin was a few percent of
#: starting a thousand plugins. A folder relinked elsewhere while running keeps its old
#: target here, so its plugins resolve outside it and are refused: the safe side.
_folders: dict[Path, Path] = {}


def _resolved(plugins_dir: Path) -> Path:
    folder = _folders.get(plugins_dir)
    if folder is None:
        folder = _folders[plugins_dir] = plugins_dir.resolve()
    return folder


def namespace_for(plugins_dir: Path) -> str:
    """The stable private package name for one project's plugins folder."""
    folder = _resolved(plugins_dir)
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:10]
    name = f"{_PREFIX}{digest}"
    with _lock:
        if name not in sys.modules:
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [str(folder)]
            package = importlib.util.module_from_spec(spec)
            package.__path__ = [str(folder)]
            sys.modules[name] = package
        _namespaces[name] = folder
        _install_finder()
    return name


def _install_finder() -> None:
    if not any(isinstance(finder, _SourceOnlyFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceOnlyFinder())


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Run the source as read now: never a timestamp-checked pyc (see
    :mod:`plughost.reload.bytecode`).

    Given ``source``, it runs those bytes rather than reading the file again,
    so the bytes the loader checked are the bytes that run.
    """

    def __init__(self, fullname: str, path: str, source: bytes | None = None) -> None:
        super().__init__(fullname, path)
        self.source = source

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        data = self.source if self.source is not None else self.get_data(path)
        return compile_plugin(data, path)


class _OutsideError(ImportError):
    """A module of a plugin namespace whose real file is outside the plugins folder."""


class _SourceOnlyFinder(importlib.abc.MetaPathFinder):
    """Finds submodules and helpers inside plughost plugin namespaces, and the
    modules of packaged plugins, and loads them from source."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_PREFIX):
            if _packaged(fullname):
                return _from_source(fullname, _find_elsewhere(fullname, path, target))
            return None
        if "." not in fullname:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return spec
        folder = _namespaces.get(fullname.partition(".")[0])
        real = Path(spec.origin).resolve()
        if folder is not None and not real.is_relative_to(folder):
            module = fullname.partition(".")[2]
            raise _OutsideError(
                f"module {module!r} is a symlink to {str(real)!r}, outside the plugins folder",
                name=fullname,
                path=spec.origin,
            )
        if spec.origin.endswith(".py"):
            spec.loader = _SourceOnlyLoader(fullname, spec.origin)
        return spec


def _packaged(fullname: str) -> bool:
    """True for a module inside a packaged plugin's package (this runs on every import)."""
    name = fullname
    while name:
        if name in _packaged_roots:
            return True
        name = name.rpartition(".")[0]
    return False


def _find_elsewhere(
    fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> importlib.machinery.ModuleSpec | None:
    """The spec the other finders (an editable install's among them) give ``fullname``."""
    for finder in list(sys.meta_path):
        if isinstance(finder, _SourceOnlyFinder):
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec: importlib.machinery.ModuleSpec | None = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _from_source(
    fullname: str, spec: importlib.machinery.ModuleSpec | None
) -> importlib.machinery.ModuleSpec | None:
    """``spec`` loading its Python source without byte-code caches, as plugins load."""
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return spec
    if spec.loader is None or isinstance(spec.loader, importlib.machinery.SourceFileLoader):
        spec.loader = _SourceOnlyLoader(fullname, spec.origin)
    return spec


@dataclass(slots=True)
class ImportedPlugin:
    """A freshly imported plugin module, and how to undo the import."""

    source: PluginSource
    module: ModuleType
    #: what sys.modules held under this plugin's name before the import
    previous: dict[str, ModuleType] = field(default_factory=dict)
    helpers: frozenset[str] = frozenset()
    #: the sys.modules name this import owns, with everything under it; a
    #: packaged plugin owns its whole top-level package
    owns: str | None = None
    #: the plugin file's (size, modification time in ns) as read and run
    read_as: tuple[int, int] | None = None
    #: the plugin file's bytes as read and run (a folder plugin's), for its digest
    read: bytes | None = None
    #: how long the import held its thread up, in seconds (see :class:`Stopwatch`)
    seconds: float = 0.0

    def changed_on_disk(self) -> bool:
        """True when the plugin file is no longer what this import read and ran."""
        if self.read_as is None:
            return False
        try:
            now = self.source.path.stat()
        except OSError:
            return True
        return (now.st_size, now.st_mtime_ns) != self.read_as

    def rollback(self) -> None:
        """Put sys.modules back as it was before the import."""
        _replace_modules(self.owns or self.module.__name__, self.previous)

    def forget(self) -> None:
        """Drop this import from sys.modules, unless a newer one replaced it."""
        if sys.modules.get(self.module.__name__) is self.module:
            _replace_modules(self.owns or self.module.__name__, {})


def _owned(fullname: str) -> dict[str, ModuleType]:
    module = sys.modules.get(fullname)
    if module is None or not hasattr(module, "__path__"):
        # Only a package has submodules: skip the scan of every module in sys.modules,
        # which made importing n one-file plugins cost n² (a few scans per import).
        return {fullname: module} if module is not None else {}
    prefix = fullname + "."
    return {k: v for k, v in list(sys.modules.items()) if k == fullname or k.startswith(prefix)}


def _replace_modules(fullname: str, modules: dict[str, ModuleType]) -> None:
    for key in _owned(fullname):
        del sys.modules[key]
    sys.modules.update(modules)


def import_plugin(source: PluginSource, plugins_dir: Path) -> ImportedPlugin:
    """Execute a plugin's code in a new module object.

    The live module (if any) is left untouched in spirit: requests running on
    it keep its globals. On failure sys.modules is restored exactly.

    Raises:
        PluginImportError: the code raised (SyntaxError included), with the
            plugin's file and line.
    """
    if source.module is not None:
        return _import_packaged(source, source.module)
    stopwatch = Stopwatch()
    namespace = namespace_for(plugins_dir)
    _refuse_escape(source, plugins_dir)
    fullname = f"{namespace}.{source.name}"
    before = source.path.stat()
    code = source.path.read_bytes()
    if not code:
        raise _empty(source)
    # The new version runs under a staging name, so that the live version's own
    # imports (a lazy ``from .sub import x`` in a handler) keep finding its modules,
    # never the new ones half-initialised; it takes the real name once it ran.
    staging = f"{namespace}.{_STAGING}{source.name}"
    _replace_modules(staging, {})
    spec = importlib.util.spec_from_file_location(
        staging,
        source.path,
        loader=_SourceOnlyLoader(staging, str(source.path), code),
        submodule_search_locations=[str(source.root)] if source.is_package else None,
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[staging] = module
    try:
        spec.loader.exec_module(module)
        _refuse_changed(source, before, len(code))
    except BaseException as error:
        _replace_modules(staging, {})
        if isinstance(error, PluginImportError):
            raise
        if isinstance(error, _OutsideError):
            raise PluginImportError(
                str(error),
                plugin=source.name,
                path=error.path,
                hint="copy the module into the plugins folder instead of linking to it",
            ) from None
        # SystemExit too: a plugin that runs argparse at import must not stop the server.
        if isinstance(error, Exception | SystemExit):
            raise import_error(source, error) from error
        raise
    previous = _owned(fullname)
    _publish_modules(staging, fullname)
    return ImportedPlugin(
        source,
        module,
        previous,
        helper_imports(source, code),
        read_as=(len(code), before.st_mtime_ns),
        read=code,
        seconds=stopwatch.held(),
    )


class Stopwatch:
    """How long the current thread was held up since this was made.

    Its CPU time, unless it blocked (slept, waited for I/O or a lock: a voluntary
    context switch), then the whole time taken. Time spent waiting for a CPU the
    operating system gave to something else does not count: on a busy machine a
    quick import is not a slow one. Where a thread's usage cannot be read
    (``RUSAGE_THREAD`` is Linux-only), the whole time taken.
    """

    __slots__ = ("_started", "_usage")

    def __init__(self) -> None:
        self._usage = _thread_usage()
        self._started = time.perf_counter()

    def held(self) -> float:
        took = time.perf_counter() - self._started
        after = _thread_usage()
        if self._usage is None or after is None or after.ru_nvcsw > self._usage.ru_nvcsw:
            return took
        before = self._usage
        computed: float = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return min(took, computed)


def _thread_usage() -> Any:
    if resource is None or not hasattr(resource, "RUSAGE_THREAD"):  # pragma: no cover
        return None
    return resource.getrusage(resource.RUSAGE_THREAD)


def _import_packaged(source: PluginSource, fullname: str) -> ImportedPlugin:
    """Import a packaged plugin afresh under its own module name.

    Its whole package (the top-level one, or the first below a namespace
    package) is imported again from source; the live version keeps the module
    objects it has, and the package's absolute imports of itself reach the new
    code too.
    """
    before = source.path.stat()
    if before.st_size == 0:
        raise _empty(source)
    top = source.package or fullname.partition(".")[0]
    with _lock:
        _packaged_roots.add(top)
        _install_finder()
    previous = _owned(top)
    for key in previous:
        del sys.modules[key]
    try:
        module = importlib.import_module(fullname)
        _refuse_changed(source, before, before.st_size)
    except BaseException as error:
        _replace_modules(top, previous)
        if isinstance(error, PluginImportError):
            raise
        if isinstance(error, Exception | SystemExit):
            raise import_error(source, error) from error
        raise
    return ImportedPlugin(source, module, previous, owns=top)


def _empty(source: PluginSource) -> PluginImportError:
    # Most often an editor caught between truncating the file and writing it.
    return PluginImportError(
        "the file is empty",
        plugin=source.name,
        path=source.path,
        hint="an empty plugin serves nothing; disable it instead",
    )


def _publish_modules(staging: str, fullname: str) -> None:
    """Move the modules imported under ``staging`` to ``fullname``, in place of the old ones.

    Each module, and each function and class it defined, is renamed, so that later
    relative imports and ``__module__`` lookups resolve under the real name.
    """
    staged = _owned(staging)
    for key in _owned(fullname):
        del sys.modules[key]
    for key, module in staged.items():
        name = fullname + key[len(staging) :]
        del sys.modules[key]
        _rename(module, key, name)
        sys.modules[name] = module


def _rename(module: ModuleType, old: str, new: str) -> None:
    module.__name__ = new
    if module.__spec__ is not None:
        module.__spec__.name = new
    package = module.__package__ or ""
    if package == old or package.startswith(old + "."):
        module.__package__ = new + package[len(old) :]
    elif package:
        # A module plugin's package is the namespace; a submodule's is the staged package.
        parent_old, parent_new = old.rpartition(".")[0], new.rpartition(".")[0]
        if package.startswith(parent_old) and parent_old != parent_new:
            module.__package__ = parent_new + package[len(parent_old) :]
    for value in list(vars(module).values()):
        if getattr(value, "__module__", None) != old:
            continue
        try:
            value.__module__ = new
        except (AttributeError, TypeError):
            continue
        if isinstance(value, type):
            for member in vars(value).values():
                if getattr(member, "__module__", None) == old:
                    try:
                        member.__module__ = new
                    except (AttributeError, TypeError):
                        pass


def _refuse_changed(source: PluginSource, before: os.stat_result, size: int) -> None:
    """Fail the load when the file changed while it was read and run.

    An editor that saves in place truncates the file, then writes it: a load that
    reads in between runs a part of the file (often one with no routes at all).
    The write that follows is a change of its own, and loads the whole file.
    """
    try:
        after = source.path.stat()
    except OSError:
        after = None
    if after is None or (after.st_size, after.st_mtime_ns) != (size, before.st_mtime_ns):
        raise PluginImportError(
            "the file changed while it was being loaded; the new version loads on its own",
            plugin=source.name,
            path=source.path,
        )


def _refuse_escape(source: PluginSource, plugins_dir: Path) -> None:
    if _plainly_inside(source.path, plugins_dir):
        return
    folder = _resolved(plugins_dir)
    real = source.path.resolve()
    if not real.is_relative_to(folder):
        raise PluginImportError(
            f"plugin {source.name!r} is a symlink to {str(real)!r}, outside the plugins folder",
            plugin=source.name,
            path=source.path,
            hint="copy the plugin into the plugins folder instead of linking to it",
        )


def _plainly_inside(path: Path, plugins_dir: Path) -> bool:
    """True when ``path`` names a file under ``plugins_dir`` with no symlink on the way.

    An lstat per name below the folder: resolving the whole path per plugin was
    a tenth of starting a thousand plugins.
    """
    base, full = os.fspath(plugins_dir), os.fspath(path)
    if not full.startswith(base + os.sep):
        return False
    current = base
    for part in full[len(base) + 1 :].split(os.sep):
        if part in ("", ".", ".."):
            return False
        current = os.path.join(current, part)
        if os.path.islink(current):
            return False
    return True


def import_error(source: PluginSource, error: BaseException) -> PluginImportError:
    """A PluginImportError pointing at the plugin's own line that raised."""
    if isinstance(error, SyntaxError) and error.filename:
        detail = f"{type(error).__name__}: {error.msg}"
        return PluginImportError(detail, plugin=source.name, path=error.filename, line=error.lineno)
    path, line = blame_exception(source, error)
    return PluginImportError(
        f"{type(error).__name__}: {error}", plugin=source.name, path=path, line=line
    )


def blame_exception(source: PluginSource, error: BaseException) -> tuple[Path, int | None]:
    """The last traceback frame inside the plugin's files, else the plugin's own file."""
    root = source.root.resolve()
    folder = source.path.parent.resolve() if not source.is_package else root.parent
    found: tuple[Path, int | None] = (source.path, None)
    for frame in traceback.extract_tb(error.__traceback__):
        frame_path = Path(frame.filename)
        try:
            resolved = frame_path.resolve()
        except OSError:
            continue
        if resolved.is_relative_to(root) or (
            source.distribution is None and resolved.parent == folder
        ):
            found = (frame_path, frame.lineno)
    return found


#: helper_imports of a one-file plugin, by (path, mtime, size): staging reads them twice
_helpers_seen: dict[tuple[Path, int, int], frozenset[str]] = {}
#: ``from .`` as a relative import can be spelt; only a file that has one is parsed
_RELATIVE_IMPORT: Final = re.compile(rb"\bfrom[ \t\f\\\r\n]+\.")


def helper_imports(source: PluginSource, read: bytes | None = None) -> frozenset[str]:
    """The helper modules (``_name``) a plugin imports relatively, read from its source.

    ``read`` is the one-file plugin's source when the caller just read it.
    """
    if source.is_package:
        found: set[str] = set()
        for path in sorted(source.root.rglob("*.py")):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found |= _relative_helpers(data, path, len(path.relative_to(source.root).parts) + 1)
        return frozenset(found)
    if read is not None:
        return _relative_helpers(read, source.path, 1)
    try:
        stat = source.path.stat()
    except OSError:
        return frozenset()
    key = (source.path, stat.st_mtime_ns, stat.st_size)
    cached = _helpers_seen.get(key)
    if cached is None:
        if len(_helpers_seen) > 4096:
            _helpers_seen.clear()
        try:
            data = source.path.read_bytes()
        except OSError:
            return frozenset()
        cached = _helpers_seen[key] = _relative_helpers(data, source.path, 1)
    return cached


#: a statement importing by absolute name: ``import a.b as c, d`` or ``from a.b import c``
_ABSOLUTE_IMPORT: Final = re.compile(
    rb"from[ \t]+(\w[\w.]*)[ \t]+import\b|import[ \t]+(\w[\w. \t,]*)"
)


def imports_new_modules(source: bytes) -> bool:
    """True when ``source`` imports, by absolute name, a module this process has not
    imported yet (``import a.b`` needs ``a.b``; ``from a.b import c`` needs ``a.b``).

    A plain reading of the text, lazy imports in functions included: a new
    dependency is where a long import most often comes from.
    """
    for line in source.splitlines():
        for statement in line.split(b";"):
            match = _ABSOLUTE_IMPORT.match(statement.strip())
            if match is None:
                continue
            names = (
                [match[1]]
                if match[1]
                else [p.split()[0] for p in match[2].split(b",") if p.strip()]
            )
            if any(name.decode() not in sys.modules for name in names):
                return True
    return False


def _relative_helpers(data: bytes, path: Path, depth: int) -> frozenset[str]:
    """The ``_helper`` names ``data`` imports from ``depth`` dots up (the plugins folder)."""
    if not _RELATIVE_IMPORT.search(data):
        return frozenset()
    try:
        tree = ast.parse(data, filename=str(path))
    except (SyntaxError, ValueError):
        return frozenset()
    helpers: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == depth:
            if node.module:
                head = node.module.split(".")[0]
                if head.startswith("_"):
                    helpers.add(head)
            else:
                helpers.update(a.name for a in node.names if a.name.startswith("_"))
    return frozenset(helpers)


def short_traceback(error: BaseException, plugins_dir: Path, *roots: Path) -> str:
    """The lines of ``error``'s traceback inside the plugins folder (or ``roots``: a
    packaged plugin's files), for a log line.

    Empty when the error did not come from plugin code (a bad param, a route
    conflict): its message says all there is.
    """
    cause = error.__cause__ or error
    if isinstance(cause, SyntaxError):
        return "\n" + "".join(traceback.format_exception_only(cause)).rstrip()
    folders = [folder.resolve() for folder in (plugins_dir, *roots)]
    frames = [
        frame
        for frame in traceback.extract_tb(cause.__traceback__)
        if any(Path(frame.filename).resolve().is_relative_to(folder) for folder in folders)
    ]
    if not frames:
        return ""
    lines = traceback.format_list(frames[-3:])
    lines.extend(traceback.format_exception_only(cause))
    return "\n" + "".join(lines).rstrip()


def describe(error: BaseException) -> str:
    if isinstance(error, PluginError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def module_objects(module: ModuleType) -> list[tuple[str, Any]]:
    """The module's globals that it defined itself, in definition order."""
    return [
        (name, value)
        for name, value in vars(module).items()
        if getattr(value, "__module__", None) == module.__name__
    ]
