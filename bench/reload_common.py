"""Shared parts of the reload benchmarks (``reload_latency.py``, ``reload_under_load.py``,
``reload_scale.py``): servers in subprocesses, a raw HTTP/1.1 client, projects, tables.

Servers run as users run them, each in its own process group on 127.0.0.1:

- plughost: ``plughost --config PROJECT/plughost.toml run --reload --port PORT
  --no-access-log`` (``serve(..., reload=True)``, the Reloader at its default step);
- uvicorn: ``uvicorn app:app --reload --reload-dir PROJECT --app-dir PROJECT
  --host 127.0.0.1 --port PORT --no-access-log`` on a raw ASGI app.

Both are started through a small wrapper that stops the whole process group when
the benchmark's pipe to it closes or a time limit passes, so no server outlives the
benchmark, even one killed with SIGKILL. ``PYTHONDONTWRITEBYTECODE`` is removed
from the server environment: a user's Python writes ``.pyc`` files.

The client speaks HTTP/1.1 over raw asyncio streams on keep-alive connections and
never retries: a request that gets no complete response counts as failed (aiohttp's
client would silently retry an idempotent request whose keep-alive connection was
closed, hiding exactly the drops these benchmarks count).
"""

from __future__ import annotations

import asyncio
import atexit
import math
import os
import platform
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from typing import IO, Final

__all__ = [
    "FAILURES",
    "LOOPBACK",
    "PLUGHOST_COMMAND",
    "SAVE_STYLES",
    "UVICORN_COMMAND",
    "Connection",
    "EditRun",
    "Poller",
    "Sample",
    "Server",
    "command_line",
    "environment",
    "free_port",
    "install_signal_handlers",
    "longest_gap",
    "markdown_table",
    "measure_edits",
    "percentile",
    "plughost_server",
    "plughost_source",
    "reload_times",
    "save_file",
    "server_environment",
    "stop_all",
    "uvicorn_server",
    "uvicorn_source",
    "work_folder",
    "write_plughost_project",
    "write_uvicorn_project",
]

LOOPBACK: Final = "127.0.0.1"
#: the server commands, as a reader would type them (PROJECT: the temporary project)
PLUGHOST_COMMAND: Final = (
    "plughost --config PROJECT/plughost.toml run --reload --port PORT --no-access-log"
)
UVICORN_COMMAND: Final = (
    "uvicorn app:app --reload --reload-dir PROJECT --app-dir PROJECT "
    "--host 127.0.0.1 --port PORT --no-access-log"
)
#: the line plughost logs after each successful reload (or load, with no version before)
_RELOADED: Final = re.compile(r"^(?:re)?loaded (\w+) in ([0-9.]+) ms$", re.MULTILINE)
#: ... and after a failed one (two wordings)
_FAILED: Final = re.compile(
    r"^(?:reload of (\w+) failed|plugin '(\w+)' failed to load) in ([0-9.]+) ms", re.MULTILINE
)

# Runs a click entry point in a fresh process group, and stops that group (the
# server and any worker process it spawned) when stdin closes or time runs out.
_WRAPPER: Final = """\
import importlib, os, signal, sys, threading
limit, target = float(sys.argv[1]), sys.argv[2]
module, _, function = target.partition(":")
sys.argv = [module.split(".")[0], *sys.argv[3:]]

def stop(*_):
    try:
        os.killpg(0, signal.SIGTERM)
    except OSError:
        pass
    last = threading.Timer(10, lambda: os.killpg(0, signal.SIGKILL))
    last.daemon = True
    last.start()

def watch_stdin():
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    stop()

threading.Thread(target=watch_stdin, daemon=True).start()
timer = threading.Timer(limit, stop)
timer.daemon = True
timer.start()
getattr(importlib.import_module(module), function)()
"""


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def server_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


_live: list[Server] = []


@dataclass
class Server:
    """One server subprocess in its own process group, its output in a log file."""

    label: str
    target: str
    args: list[str]
    cwd: Path
    port: int
    log_path: Path
    max_seconds: float = 900.0
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        argv = [sys.executable, "-c", _WRAPPER, str(self.max_seconds), self.target, *self.args]
        self.process = subprocess.Popen(
            argv,
            cwd=self.cwd,
            env=server_environment(),
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        _live.append(self)

    def stop(self, timeout: float = 15.0) -> int | None:
        """Stop gracefully (SIGTERM to the group), then SIGKILL what is left."""
        process = self.process
        if process is None:
            return None
        if self in _live:
            _live.remove(self)
        code: int | None = process.poll()
        if code is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                code = process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(process.pid, signal.SIGKILL)
        if code is None:
            code = process.wait(5)
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        if self._log is not None:
            self._log.close()
        self.process = None
        return code

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    async def ready(self, path: str, body: bytes, timeout: float = 120.0) -> None:
        """Wait until ``path`` answers 200 with ``body``."""
        deadline = time.perf_counter() + timeout
        connection = Connection(self.port, path, timeout=5.0)
        try:
            while True:
                if not self.alive():
                    raise RuntimeError(f"{self.label} exited early:\n{self.log()[-3000:]}")
                try:
                    status, got = await connection.get()
                    if status == 200 and got == body:
                        return
                except FAILURES:
                    pass
                if time.perf_counter() > deadline:
                    raise TimeoutError(
                        f"{self.label} did not serve {path} within {timeout:g} s:\n"
                        f"{self.log()[-3000:]}"
                    )
                await asyncio.sleep(0.05)
        finally:
            connection.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@atexit.register
def stop_all() -> None:
    """Stop every server still running (also called at interpreter exit)."""
    for server in list(_live):
        server.stop()


def install_signal_handlers() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit so ``finally`` blocks stop the servers."""

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGHUP, leave)


def plughost_server(project: Path, label: str = "plughost run --reload") -> Server:
    port = free_port()
    config = project / "plughost.toml"
    args = ["--config", str(config), "run", "--reload", "--port", str(port), "--no-access-log"]
    return Server(
        label,
        "plughost.cli.commands:main",
        args,
        project,
        port,
        project.parent / f"{project.name}.log",
    )


def uvicorn_server(project: Path, label: str = "uvicorn --reload") -> Server:
    port = free_port()
    args = [
        "app:app",
        "--reload",
        "--reload-dir",
        str(project),
        "--app-dir",
        str(project),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--no-access-log",
    ]
    return Server(
        label,
        "uvicorn.main:main",
        args,
        project,
        port,
        project.parent / f"{project.name}.log",
    )


# -- projects ---------------------------------------------------------------------------


def plughost_source(route: str, version: str, *, extra: str = "", broken: str = "") -> str:
    """A one-route plughost plugin answering ``version`` as text.

    ``broken`` is ``"syntax"`` (a SyntaxError) or ``"raise"`` (an exception at import).
    """
    lines = ["import plughost", "", f'VERSION = "{version}"', ""]
    if extra:
        lines += [extra, ""]
    if broken == "raise":
        lines += ['raise RuntimeError("broken on purpose")', ""]
    lines += [
        "",
        f'@plughost.route("{route}")',
        "async def endpoint() -> str:",
        "    return VERSION" if broken != "syntax" else "    return VERSION +",
        "",
    ]
    return "\n".join(lines)


def write_plughost_project(root: Path, plugins: Sequence[tuple[str, str]]) -> Path:
    """A project folder with ``plughost.toml`` enabling ``plugins`` (name, source) in order."""
    (root / "plugins").mkdir(parents=True)
    toml = [
        "[server]",
        f'host = "{LOOPBACK}"',
        "access_log = false",
        "",
    ]
    for name, source in plugins:
        (root / "plugins" / f"{name}.py").write_text(source)
        toml += [f"[plugins.{name}]", "enabled = true", ""]
    (root / "plughost.toml").write_text("\n".join(toml))
    return root


_UVICORN_APP: Final = '''\
"""A raw ASGI app with the same two routes: /edited (from edited.py) and /other."""

import edited
import other

ROUTES = {"/edited": edited, "/other": other}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    module = ROUTES.get(scope["path"])
    status, body = (200, module.VERSION.encode()) if module else (404, b"Not Found")
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
'''


def uvicorn_source(version: str) -> str:
    return f'VERSION = "{version}"\n'


def write_uvicorn_project(root: Path, version: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(_UVICORN_APP)
    (root / "edited.py").write_text(uvicorn_source(version))
    (root / "other.py").write_text(uvicorn_source("other"))
    return root


def reload_times(log: str, plugin: str) -> tuple[list[float], int]:
    """Transaction times plughost logged for ``plugin`` (ms), and its failed reloads."""
    ok = [float(ms) for name, ms in _RELOADED.findall(log) if name == plugin]
    failed = sum(1 for one, two, _ in _FAILED.findall(log) if plugin in (one, two))
    return ok, failed


SAVE_STYLES: Final = ("inplace", "atomic", "backup")


def save_file(path: Path, text: str, style: str = "inplace", gap: float = 0.0) -> None:
    """Save ``text`` to ``path`` the way an editor does.

    ``inplace`` truncates the file and writes it (``gap`` s after the truncation);
    ``atomic`` writes a hidden temporary file and renames it over ``path`` (``gap`` s
    after writing it); ``backup`` renames ``path`` to ``path~``, writes a new ``path``
    ``gap`` s later, then removes the backup (vim's default without ``backupcopy``).
    """
    if style == "inplace":
        with path.open("w") as file:
            if gap:
                file.flush()
                time.sleep(gap)
            file.write(text)
    elif style == "atomic":
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text)
        time.sleep(gap)
        os.replace(temporary, path)
    elif style == "backup":
        backup = path.with_name(path.name + "~")
        os.replace(path, backup)
        time.sleep(gap)
        path.write_text(text)
        backup.unlink()
    else:
        raise ValueError(f"unknown save style {style!r}")


# -- client -----------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 GET connection; reopened after a failure, never retried."""

    def __init__(self, port: int, path: str, timeout: float = 5.0) -> None:
        self.port = port
        self.timeout = timeout
        self._request = f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        #: whether the last failure happened on a connection that had already served
        self.reused = False

    async def get(self) -> tuple[int, bytes]:
        """Status and body of one GET.

        Raises:
            OSError, asyncio.IncompleteReadError, TimeoutError, ValueError: no response.
        """
        self.reused = self._writer is not None
        try:
            async with asyncio.timeout(self.timeout):
                if self._reader is None or self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(LOOPBACK, self.port)
                self._writer.write(self._request)
                head = await self._reader.readuntil(b"\r\n\r\n")
                status, length, close = _parse_head(head)
                body = await self._reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length: int | None = None
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    if length is None:
        raise ValueError("response without Content-Length")
    return status, length, close


FAILURES: Final = (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError)


@dataclass(slots=True)
class Sample:
    """One request: when it was due and sent, when it ended, its status and body.

    ``status`` is -1 for a failed request; ``body`` then names the error, prefixed with
    ``reused:`` when it happened on a keep-alive connection that had served before.
    """

    due: float
    sent: float
    received: float
    status: int
    body: bytes

    @property
    def failed(self) -> bool:
        return self.status < 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Poller:
    """Polls one path in a tight loop on one keep-alive connection, recording every request."""

    port: int
    path: str
    #: pause after a failed request, so a refused port is not hammered
    error_pause: float = 0.001
    samples: list[Sample] = field(default_factory=list)
    _want: bytes | None = None
    _seen: asyncio.Future[float] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        connection = Connection(self.port, self.path)
        try:
            while not stop.is_set():
                sent = time.perf_counter()
                try:
                    status, body = await connection.get()
                except FAILURES as error:
                    kind = ("reused:" if connection.reused else "new:") + type(error).__name__
                    self.samples.append(Sample(sent, sent, time.perf_counter(), -1, kind.encode()))
                    await asyncio.sleep(self.error_pause)
                    continue
                received = time.perf_counter()
                self.samples.append(Sample(sent, sent, received, status, body))
                seen = self._seen
                if seen is not None and body == self._want and not seen.done():
                    seen.set_result(received)
        finally:
            connection.close()

    def expect(self, body: bytes) -> asyncio.Future[float]:
        """A future set to the time ``body`` is first received from now on."""
        self._want = body
        self._seen = asyncio.get_running_loop().create_future()
        return self._seen


# -- figures ----------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def longest_gap(times: Sequence[float], start: float, end: float) -> float:
    """The longest time without a response that overlaps [start, end].

    ``times`` are sorted response times; the gap runs from the last response at or
    before a moment in the window to the next response after it.
    """
    import bisect

    if not times:
        return math.nan
    first = max(bisect.bisect_right(times, start) - 1, 0)
    last = min(bisect.bisect_left(times, end), len(times) - 1)
    if first >= last:
        return 0.0
    return max(times[i + 1] - times[i] for i in range(first, last))


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "–"
            return f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def environment() -> str:
    """One line naming the machine and the versions measured."""
    parts = [
        f"Python {platform.python_version()}",
        f"{platform.system()} {platform.machine()}",
        f"{os.cpu_count()} CPUs",
    ]
    for package in ("plughost", "aiohttp", "watchfiles", "uvicorn"):
        try:
            parts.append(f"{package} {version(package)}")
        except Exception:
            pass
    return ", ".join(parts)


def command_line() -> str:
    """The command that ran this benchmark, as typed from the repository root."""
    script = Path(sys.argv[0])
    shown = f"bench/{script.name}" if script.parent.name == "bench" else str(script)
    return shlex.join(["python", shown, *sys.argv[1:]])


# -- the edit-to-new-response measurement -----------------------------------------------


@dataclass
class EditRun:
    """What one server did over a series of edits, polled on loopback."""

    label: str
    #: per edit: write time, first new response time (nan when it never came)
    edits: list[tuple[float, float]] = field(default_factory=list)
    edited: list[Sample] = field(default_factory=list)
    other: list[Sample] = field(default_factory=list)
    #: when polling started and the first edit was written
    polled_from: float = math.nan
    first_edit: float = math.nan
    log: str = ""
    #: seconds from starting the server to its first answer from /edited
    startup: float = math.nan
    #: bodies the edited route may legitimately answer, by edit number (0 = initial)
    bodies: list[bytes] = field(default_factory=list)

    def latencies(self) -> list[float]:
        """Milliseconds from each write to the first response with the new body."""
        return [(new - wrote) * 1000 for wrote, new in self.edits if not math.isnan(new)]

    @property
    def timeouts(self) -> int:
        return sum(1 for _, new in self.edits if math.isnan(new))

    def during_edits(self, samples: Sequence[Sample]) -> list[Sample]:
        return [s for s in samples if s.sent >= self.first_edit]

    def failed(self, samples: Sequence[Sample]) -> tuple[int, int]:
        """Failed requests during the edits: on a reused keep-alive connection, on a new one."""
        failed = [s for s in self.during_edits(samples) if s.failed]
        reused = sum(1 for s in failed if s.body.startswith(b"reused:"))
        return reused, len(failed) - reused

    def non_2xx(self, samples: Sequence[Sample]) -> int:
        return sum(1 for s in self.during_edits(samples) if not s.failed and not s.ok)

    def wrong_bodies(self) -> int:
        """Responses of /edited that no written version explains, or older than one this
        poller had already received (its requests are sequential on one connection)."""
        order = {body: index for index, body in enumerate(self.bodies)}
        wrong = 0
        newest = -1
        for sample in self.edited:
            if not sample.ok:
                continue
            index = order.get(sample.body)
            if index is None or index < newest:
                wrong += 1
            else:
                newest = index
        return wrong

    def stalls(self, samples: Sequence[Sample]) -> list[float]:
        """Per edit, the longest time (ms) without a response on a route, over the reload."""
        times = [s.received for s in samples if s.ok]
        result = []
        for wrote, new in self.edits:
            end = new if not math.isnan(new) else wrote + 1.0
            result.append(longest_gap(times, wrote, end) * 1000)
        return result

    def throughput(self, samples: Sequence[Sample]) -> tuple[float, float]:
        """Responses/s on a route while edits were being reloaded (from each write to the
        first response from the new code), and before the first edit."""
        ok = [s.received for s in samples if s.ok]
        spans = [(wrote, new) for wrote, new in self.edits if not math.isnan(new)]
        during = sum(1 for t in ok if any(a <= t < b for a, b in spans))
        seconds = sum(b - a for a, b in spans)
        before = sum(1 for t in ok if self.polled_from <= t < self.first_edit)
        return (
            during / seconds if seconds else math.nan,
            before / (self.first_edit - self.polled_from),
        )

    def baseline_gap(self, samples: Sequence[Sample]) -> float:
        """The longest time (ms) without a response before the first edit."""
        times = [s.received for s in samples if s.ok and s.received < self.first_edit]
        return longest_gap(times, self.polled_from, self.first_edit) * 1000


async def measure_edits(
    server: Server,
    *,
    write: Callable[[int], object],
    body: Callable[[int], bytes],
    edits: int,
    interval: float,
    settle: float = 0.25,
    other: tuple[str, bytes] | None = None,
    baseline: float = 1.0,
    timeout: float = 10.0,
) -> EditRun:
    """Start ``server``, edit ``edits`` times, and record every poll of /edited (and other).

    ``write(i)`` writes edit ``i`` (1-based); ``body(i)`` is what /edited answers once
    edit ``i`` is served (``body(0)``: before any edit). Edits are at least
    ``interval`` s apart, and ``settle`` s after the previous edit was first served.
    """
    write_edit, body_of = write, body
    run = EditRun(server.label, bodies=[body_of(i) for i in range(edits + 1)])
    started = time.perf_counter()
    server.start()
    try:
        await server.ready("/edited", body_of(0))
        run.startup = time.perf_counter() - started
        if other is not None:
            await server.ready(other[0], other[1])
        stop = asyncio.Event()
        edited = Poller(server.port, "/edited")
        pollers = [edited]
        if other is not None:
            pollers.append(Poller(server.port, other[0]))
        tasks = [asyncio.create_task(p.run(stop)) for p in pollers]
        try:
            run.polled_from = time.perf_counter()
            await asyncio.sleep(baseline)
            next_at = time.perf_counter()
            for index in range(1, edits + 1):
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not server.alive():
                    raise RuntimeError(f"{server.label} exited:\n{server.log()[-3000:]}")
                seen = edited.expect(body_of(index))
                wrote = time.perf_counter()
                if index == 1:
                    run.first_edit = wrote
                write_edit(index)
                try:
                    new = await asyncio.wait_for(seen, timeout)
                except TimeoutError:
                    new = math.nan
                run.edits.append((wrote, new))
                done = wrote + timeout if math.isnan(new) else new
                next_at = max(wrote + interval, done + settle)
            await asyncio.sleep(settle)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        run.edited = edited.samples
        if other is not None:
            run.other = pollers[1].samples
    finally:
        server.stop()
        run.log = server.log()
    return run


@contextmanager
def work_folder(prefix: str, keep: bool) -> Iterator[Path]:
    """A temporary folder for the generated projects and server logs; with ``keep``,
    left in place (and named on stderr) for a look at the logs."""
    if keep:
        folder = Path(tempfile.mkdtemp(prefix=prefix))
        print(f"projects and server logs kept in {folder}", file=sys.stderr)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)
