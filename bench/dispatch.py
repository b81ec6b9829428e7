"""Dispatch benchmark: plughost routes against a raw aiohttp handler, same run, same machine.

Usage::

    python bench/dispatch.py                      # 5 rounds of 5 s per server
    python bench/dispatch.py --rounds 9 --duration 10
    python bench/dispatch.py --write-projects DIR  # write the generated projects, then exit

Five servers run side by side, each in its own subprocess on a free
127.0.0.1 port (see ``dispatch_server.py``):

(a) raw aiohttp: a plain ``web.Application``, one route returning
    ``web.json_response({"hello": "world"})``;
(b) plughost, an ``async def`` ``@plughost.route("/hello")`` endpoint with five
    wrapper plugins installed, each ``apply`` returning the callback unchanged;
(c) as (b), with a sync ``def`` endpoint (on the event loop once its trial calls in
    worker threads proved it quick);
(d) as (b), with a ``BasePlugin`` endpoint (sync ``def request_handler(self, **args)``);
(e) as (b), plus a hook plugin with no-op ``start_request``/``end_request``:
    the full default pipeline with one more hook plugin.

The access log is off everywhere. Each round runs wrk against (a) and then
against each plughost server, so every ratio compares two measurements taken
seconds apart. The figures are the median requests/s per server and the
median of the per-round ratios. Nothing is pinned: CPU affinity, frequency
scaling and neighbouring load are not ours to control on a shared machine,
which is why the servers are paired round by round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import selectors
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Final

__all__ = [
    "VARIANTS",
    "Server",
    "Variant",
    "check_server",
    "main",
    "read_port",
    "stop_server",
    "write_project",
]

HERE: Final = Path(__file__).resolve().parent
SERVER_SCRIPT: Final = HERE / "dispatch_server.py"
PATH: Final = "/hello"
EXPECTED: Final = {"hello": "world"}
#: the issue's targets: async routes at least as fast as raw aiohttp, sync ones 0.85x
TARGET: Final = 1.0
SYNC_TARGET: Final = 0.85

WRAPPER = '''\
"""Wrapper plugin {n} of 5: apply() returns the callback unchanged."""


class Passthrough:
    name = "passthrough{n}"
    api = 2

    def apply(self, callback, route):
        return callback


def setup(host):
    host.install(Passthrough())
'''

ASYNC_ENDPOINT = """\
import plughost


@plughost.route("/hello")
async def hello():
    return {"hello": "world"}
"""

SYNC_ENDPOINT = """\
import plughost


@plughost.route("/hello")
def hello():
    return {"hello": "world"}
"""

BASEPLUGIN_ENDPOINT = """\
from plughost import BasePlugin


class Hello(BasePlugin):
    route_path = "hello"

    def request_handler(self, **args):
        return {"hello": "world"}
"""

NOOP_HOOKS = '''\
"""Hook plugin: start_request and end_request that do nothing."""


def start_request(context):
    pass


def end_request(context):
    pass
'''

WRAPPERS: Final = {f"passthrough{n}": WRAPPER.format(n=n) for n in range(1, 6)}


@dataclass(frozen=True, slots=True)
class Variant:
    """One server in the benchmark."""

    key: str
    label: str
    #: plugin name -> source; empty for raw aiohttp
    plugins: Mapping[str, str] = field(default_factory=dict)
    target: float | None = None

    @property
    def is_raw(self) -> bool:
        return not self.plugins


VARIANTS: Final = (
    Variant("a", "raw aiohttp (web.Application, json_response)"),
    Variant(
        "b",
        "plughost: async def route, 5 pass-through wrappers",
        {**WRAPPERS, "hello": ASYNC_ENDPOINT},
        TARGET,
    ),
    Variant(
        "c",
        "plughost: sync def route (on the loop after its trial), 5 wrappers",
        {**WRAPPERS, "hello": SYNC_ENDPOINT},
        SYNC_TARGET,
    ),
    Variant(
        "d",
        "plughost: BasePlugin request_handler (sync), 5 wrappers",
        {**WRAPPERS, "hello": BASEPLUGIN_ENDPOINT},
        SYNC_TARGET,
    ),
    Variant(
        "e",
        "plughost: as (b) + no-op start_request/end_request hook plugin",
        {**WRAPPERS, "noop_hooks": NOOP_HOOKS, "hello": ASYNC_ENDPOINT},
        TARGET,
    ),
)


def write_project(root: Path, variant: Variant) -> Path:
    """Write ``variant``'s plughost project under ``root``; returns its plughost.toml."""
    plugins_dir = root / "plugins"
    plugins_dir.mkdir(parents=True, exist_ok=True)
    lines = ["[server]", "access_log = false", ""]
    for name, source in variant.plugins.items():
        (plugins_dir / f"{name}.py").write_text(source, encoding="utf-8")
        lines += [f"[plugins.{name}]", "enabled = true", ""]
    config = root / "plughost.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


# -- servers -----------------------------------------------------------------


@dataclass(slots=True)
class Server:
    variant: Variant
    process: subprocess.Popen[bytes]
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"


def read_port(process: subprocess.Popen[bytes], stderr: IO[bytes], timeout: float) -> int:
    """Wait for the server's ``PORT n`` line."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0 or process.poll() is not None:
                stderr.seek(0)
                detail = stderr.read().decode(errors="replace").strip()
                raise RuntimeError(f"server did not start within {timeout:g} s:\n{detail}")
            if selector.select(min(left, 0.2)):
                chunk = os.read(process.stdout.fileno(), 256)
                if not chunk:
                    continue
                buffer += chunk
    line = buffer.split(b"\n", 1)[0].decode()
    if not line.startswith("PORT "):
        raise RuntimeError(f"unexpected first line from server: {line!r}")
    return int(line.split()[1])


def check_server(server: Server) -> None:
    """One request, to fail early when a server answers anything but the expected JSON."""
    with urllib.request.urlopen(server.url, timeout=5) as response:
        status = response.status
        body = json.loads(response.read())
    if status != 200 or body != EXPECTED:
        raise RuntimeError(f"({server.variant.key}) answered {status} {body!r}")


@contextmanager
def running(
    variants: Sequence[Variant], workdir: Path, max_seconds: float
) -> Iterator[list[Server]]:
    """Start one subprocess per variant; stop (and if need be kill) all of them on exit."""
    servers: list[Server] = []
    logs: list[IO[bytes]] = []
    try:
        for variant in variants:
            command = [sys.executable, str(SERVER_SCRIPT), "--max-seconds", f"{max_seconds:.0f}"]
            if variant.is_raw:
                command.append("raw")
            else:
                config = write_project(workdir / f"project_{variant.key}", variant)
                command += ["plughost", str(config)]
            log = tempfile.TemporaryFile()
            logs.append(log)
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # Ctrl-C reaches the driver, which stops them in order
            )
            server = Server(variant, process)
            servers.append(server)
            server.port = read_port(process, log, timeout=30)
        for server in servers:
            check_server(server)
        yield servers
    finally:
        for server in servers:
            stop_server(server.process)
        for opened in logs:
            opened.close()


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Close the server's stdin (it stops by itself), then terminate, then kill."""
    try:
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        for escalate in (process.terminate, process.kill):
            try:
                process.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                escalate()
        process.wait(timeout=5)
    finally:
        if process.stdout is not None:
            process.stdout.close()


# -- wrk ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_second: float
    requests: int
    non_2xx: int
    socket_errors: int
    #: CPU seconds the server process (all its threads) used during the run, if known
    server_cpu: float | None = None

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1e6


_RPS: Final = re.compile(r"Requests/sec:\s+([\d.]+)")
_REQUESTS: Final = re.compile(r"(\d+) requests in ")
_NON_2XX: Final = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS: Final = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_TICK: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` and all its threads (Linux ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def wrk_command(args: argparse.Namespace, url: str) -> list[str]:
    return [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "2s",
        url,
    ]


def run_wrk(args: argparse.Namespace, server: Server, duration: int | None = None) -> WrkResult:
    command = wrk_command(args, server.url)
    if duration is not None:
        command[3] = f"-d{duration}s"
        seconds = duration
    else:
        seconds = args.duration
    cpu_before = cpu_seconds(server.process.pid)
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 15, check=False
    )
    cpu_after = cpu_seconds(server.process.pid)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    out = completed.stdout
    rps = _RPS.search(out)
    requests = _REQUESTS.search(out)
    if rps is None or requests is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{out}")
    non_2xx = _NON_2XX.search(out)
    errors = _SOCKET_ERRORS.search(out)
    return WrkResult(
        float(rps.group(1)),
        int(requests.group(1)),
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
        None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
    )


# -- report ------------------------------------------------------------------


def _git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return revision + (" (with uncommitted changes)" if dirty else "")


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}"]
    for name in ("aiohttp", "plughost"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    wrk = subprocess.run(
        [shutil.which("wrk") or "wrk", "-v"], capture_output=True, text=True, timeout=5
    )
    first = (wrk.stdout or wrk.stderr).splitlines()
    if first:
        parts.append(" ".join(first[0].split()[:2]))
    return ", ".join(parts)


def _median_or_none(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if len(known) == len(values) and known else None


def report(
    args: argparse.Namespace,
    variants: Sequence[Variant],
    rounds: list[dict[str, WrkResult]],
    load: tuple[str, str],
) -> str:
    raw = variants[0].key
    lines = [
        "| server | median req/s | min–max req/s | median ratio to (a) | ratio min–max "
        "| target | | server CPU µs/req | CPU-cost ratio (a)/(x) |",
        "|---|--:|--:|--:|--:|--:|---|--:|--:|",
    ]
    for variant in variants:
        rates = [r[variant.key].requests_per_second for r in rounds]
        ratios = [r[variant.key].requests_per_second / r[raw].requests_per_second for r in rounds]
        median_ratio = statistics.median(ratios)
        if variant.key == raw:
            ratio_cells = ["1.00x", "—"]
        else:
            ratio_cells = [f"{median_ratio:.2f}x", f"{min(ratios):.2f}–{max(ratios):.2f}x"]
        if variant.target is None:
            target, verdict = "—", ""
        else:
            target = f"≥ {variant.target:.2f}x"
            verdict = "met" if median_ratio >= variant.target else "**below**"
        cost = _median_or_none([r[variant.key].cpu_us_per_request for r in rounds])
        cost_ratio = _median_or_none(
            [
                None if a is None or x is None else a / x
                for a, x in (
                    (r[raw].cpu_us_per_request, r[variant.key].cpu_us_per_request) for r in rounds
                )
            ]
        )
        cost_cells = [
            "n/a" if cost is None else f"{cost:.1f}",
            "n/a" if cost_ratio is None else f"{cost_ratio:.2f}x",
        ]
        lines.append(
            f"| ({variant.key}) {variant.label} | {statistics.median(rates):,.0f} "
            f"| {min(rates):,.0f}–{max(rates):,.0f} | {' | '.join(ratio_cells)} "
            f"| {target} | {verdict} | {' | '.join(cost_cells)} |"
        )
    header = "| round | " + " | ".join(f"({v.key}) req/s" for v in variants) + " |"
    per_round = [header, "|---|" + "--:|" * len(variants)]
    for index, result in enumerate(rounds, 1):
        base = result[raw].requests_per_second
        cells = []
        for variant in variants:
            measured = result[variant.key]
            rate = measured.requests_per_second
            cell = f"{rate:,.0f}" if variant.key == raw else f"{rate:,.0f} ({rate / base:.2f}x)"
            cost = measured.cpu_us_per_request
            cells.append(cell if cost is None else f"{cell}, {cost:.0f} µs")
        per_round.append(f"| {index} | " + " | ".join(cells) + " |")
    problems = [
        f"round {index}, ({key}): {result.non_2xx} non-2xx, {result.socket_errors} socket errors"
        for index, by_key in enumerate(rounds, 1)
        for key, result in by_key.items()
        if result.non_2xx or result.socket_errors
    ]
    argv = shlex.join(sys.argv[1:])
    wrk = shlex.join(wrk_command(args, f"http://127.0.0.1:PORT{PATH}")).replace(args.wrk, "wrk")
    text = [
        "## Dispatch benchmark",
        "",
        *lines,
        "",
        f"Per round: requests/s (ratio to (a)), server CPU µs per request "
        f"({len(rounds)} rounds, servers in order "
        + ", ".join(f"({v.key})" for v in variants)
        + " within each round):",
        "",
        *per_round,
        "",
        f"- Command: `python bench/dispatch.py{' ' + argv if argv else ''}`",
        f"- Each measurement: `{wrk}`, after a {args.warmup} s warm-up per server",
        f"- {_versions()}; plughost revision {_git_revision()}",
        f"- {os.cpu_count()} CPUs, load average {load[0]} before, {load[1]} after; "
        "nothing pinned (no CPU affinity, frequency or isolation control on a shared "
        "machine), so wrk, the server under test and the idle servers share every core",
        "- Ratios are per round, (x) / (a), then the median over rounds; wrk ratios on shared "
        "machines are good to about ±10–15%",
        "- Server CPU µs/req: CPU time (user + system, all threads, from /proc) the server "
        "process used during the run, divided by the requests wrk completed. It is less "
        "sensitive than requests/s to what else the machine is doing, though not immune; its "
        "ratio (a)/(x) reads like the throughput ratio when the server is CPU-bound",
    ]
    if problems:
        text += ["", "Errors reported by wrk:", *(f"- {p}" for p in problems)]
    return "\n".join(text) + "\n"


def _load() -> str:
    try:
        return " ".join(f"{n:.2f}" for n in os.getloadavg())
    except OSError:
        return "unknown"


# -- main --------------------------------------------------------------------


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: servers are stopped


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="plughost dispatch benchmark: plughost routes against raw aiohttp (wrk)."
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per server (2)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated plughost variants to run, e.g. 'b,e' ((a) always runs)",
    )
    parser.add_argument("--wrk", default="wrk", help="the wrk executable (default: wrk)")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    parser.add_argument(
        "--write-projects",
        type=Path,
        metavar="DIR",
        help="write the generated plughost projects into DIR and exit",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration < 1 or args.warmup < 0:
        parser.error("--rounds and --duration must be >= 1, --warmup >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = {key.strip() for key in args.only.split(",") if key.strip()}
    unknown = wanted - {v.key for v in VARIANTS}
    if unknown:
        print(f"unknown variant(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    variants = [v for v in VARIANTS if v.is_raw or not wanted or v.key in wanted]
    if args.write_projects is not None:
        for variant in variants:
            if not variant.is_raw:
                config = write_project(args.write_projects / f"project_{variant.key}", variant)
                print(f"({variant.key}) {config}")
        return 0
    resolved = shutil.which(args.wrk)
    if resolved is None:
        print(f"{args.wrk!r} not found; install wrk (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    args.wrk = resolved

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    per_run = args.duration + 1
    budget = len(variants) * (args.warmup + 1 + args.rounds * per_run) + 120
    load_before = _load()
    rounds: list[dict[str, WrkResult]] = []
    with tempfile.TemporaryDirectory(prefix="plughost-bench-") as workdir:
        with running(variants, Path(workdir), max_seconds=budget) as servers:
            print(
                f"{len(servers)} servers up; about "
                f"{len(servers) * (args.warmup + args.rounds * per_run)} s to go",
                file=sys.stderr,
            )
            if args.warmup:
                for server in servers:
                    run_wrk(args, server, duration=args.warmup)
            for index in range(1, args.rounds + 1):
                results: dict[str, WrkResult] = {}
                for server in servers:
                    results[server.variant.key] = run_wrk(args, server)
                rounds.append(results)
                raw = results[variants[0].key].requests_per_second
                summary = ", ".join(
                    f"({key}) {r.requests_per_second:,.0f}"
                    + ("" if key == variants[0].key else f" {r.requests_per_second / raw:.2f}x")
                    for key, r in results.items()
                )
                print(f"round {index}/{args.rounds}: {summary}", file=sys.stderr)
    text = report(args, variants, rounds, (load_before, _load()))
    print(text)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
