"""Workers: throughput of 1 and 2 workers, one reload across 2 workers, task stores.

Usage::

    python bench/workers.py throughput            # wrk on a CPU-bound route, 1 and 2 workers
    python bench/workers.py reload                # 100 edits (a tenth broken) under load
    python bench/workers.py refuse                # one worker refuses a change
    python bench/workers.py tasks                 # start/read rates: memory, SQLite, Redis
    python bench/workers.py all

Every server is ``python -m plughost run`` on a free 127.0.0.1 port, in a project
written to a temporary folder, stopped with SIGTERM when its part ends (or on an
error). Redis (``tasks``) is a ``redis-server`` started on a free loopback port when
one is installed. Nothing listens beyond loopback; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def project(plugins: dict[str, str]) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="plughost-bench-"))
    try:
        (root / "plugins").mkdir()
        lines = ["[server]", "access_log = false"]
        for name, source in plugins.items():
            (root / "plugins" / f"{name}.py").write_text(source, encoding="utf-8")
            lines += [f"[plugins.{name}]", "enabled = true"]
        (root / "plughost.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def server(root: Path, workers: int, *args: str) -> Iterator[tuple[int, Path]]:
    """``plughost run --workers N`` for ``root``; yields its port and its log file."""
    port = free_port()
    log = root / f"server-{port}.log"
    command = [
        sys.executable, "-m", "plughost", "--config", str(root / "plughost.toml"),
        "run", "--workers", str(workers), "--port", str(port), *args,
    ]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while "press Ctrl-C to stop" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield port, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Connection:
    """One keep-alive HTTP/1.1 connection (so one worker answers all its requests)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, path: str, method: str = "GET") -> tuple[int, Any]:
        async with asyncio.timeout(10):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(LOOPBACK, self.port)
            assert self.reader is not None
            self.writer.write(
                f"{method} {path} HTTP/1.1\r\nHost: {LOOPBACK}:{self.port}\r\n"
                "X-Plughost-Reload: 1\r\nContent-Length: 0\r\n\r\n".encode()
            )
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            length = next(
                int(line.split(":", 1)[1])
                for line in lines
                if line.lower().startswith("content-length")
            )
            body = await self.reader.readexactly(length)
        return status, json.loads(body) if body else None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def one_per_worker(port: int, path: str, workers: int) -> dict[int, Connection]:
    """Open connections until each worker holds one; close the spare ones."""
    found: dict[int, Connection] = {}
    spare: list[Connection] = []
    async with asyncio.timeout(30):
        while len(found) < workers:
            connection = Connection(port)
            status, body = await connection.request(path)
            if body["pid"] in found:
                spare.append(connection)
            else:
                found[body["pid"]] = connection
    for connection in spare:
        connection.close()
    return found


# -- throughput ---------------------------------------------------------------------

CPU = """
import os
import plughost

@plughost.route("/cpu")
async def cpu():
    total = 0
    for i in range(20_000):
        total += i * i
    return {"pid": os.getpid(), "total": total}
"""


def wrk(port: int, duration: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{duration}s", "--timeout", "2s", f"http://{LOOPBACK}:{port}/cpu"],
        capture_output=True, text=True, check=True, timeout=duration + 30,
    ).stdout  # fmt: skip
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def throughput(rounds: int, duration: int) -> str:
    results: dict[int, list[float]] = {1: [], 2: []}
    with project({"cpu": CPU}) as root:
        with server(root, 1) as (one, _), server(root, 2) as (two, _):
            for port in (one, two):
                wrk(port, 2)  # warm-up
            for _ in range(rounds):
                results[1].append(wrk(one, duration))
                results[2].append(wrk(two, duration))
    ratios = [b / a for a, b in zip(results[1], results[2], strict=True)]
    rows = [
        f"| 1 worker | {statistics.median(results[1]):,.0f} | "
        + ", ".join(f"{r:,.0f}" for r in results[1]) + " |",
        f"| 2 workers | {statistics.median(results[2]):,.0f} | "
        + ", ".join(f"{r:,.0f}" for r in results[2]) + " |",
    ]  # fmt: skip
    return "\n".join(
        [
            f"CPU-bound route (20,000 multiply-adds per request); wrk -t1 -c32 -d{duration}s; "
            f"{os.cpu_count()} cores, shared with wrk; {rounds} rounds, servers side by side.",
            "",
            "| server | median req/s | rounds |",
            "|---|--:|---|",
            *rows,
            "",
            "2 workers / 1 worker, median of per-round ratios: "
            f"**{statistics.median(ratios):.2f}x**",
        ]
    )


# -- reload across workers ----------------------------------------------------------

EDITED = """
import os
import plughost

VERSION = {version!r}
{broken}
@plughost.route("/edited")
async def edited():
    return {{"pid": os.getpid(), "version": VERSION}}
"""
OTHER = """
import os
import plughost

@plughost.route("/other")
async def other():
    return {"pid": os.getpid()}
"""


def edited_source(version: int, broken: str = "") -> str:
    extra = {"": "", "syntax": "def broken(:\n", "raise": "raise RuntimeError('broken')\n"}[broken]
    return EDITED.format(version=f"{version:05d}", broken=extra)


async def load(port: int, stop: asyncio.Event, stats: dict[str, Any], rate: float) -> None:
    """Paced requests on /edited and /other over 8 keep-alive connections."""
    connections = [Connection(port) for _ in range(8)]

    async def run(connection: Connection, path: str) -> None:
        interval = len(connections) / rate
        next_at = time.monotonic()
        while not stop.is_set():
            next_at += interval
            try:
                status, body = await connection.request(path)
                stats["requests"] += 1
                if status >= 300:
                    stats["non_2xx"] += 1
                elif path == "/edited" and body["version"] not in stats["good"]:
                    stats["wrong"] += 1
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                stats["failed"] += 1
                connection.close()
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    tasks = [
        asyncio.create_task(run(c, "/edited" if i % 2 == 0 else "/other"))
        for i, c in enumerate(connections)
    ]
    await asyncio.gather(*tasks)
    for connection in connections:
        connection.close()


async def reload_run(edits: int, interval: float, rate: float, workers: int = 2) -> str:
    with project({"edited": edited_source(0), "other": OTHER}) as root:
        plugin = root / "plugins" / "edited.py"
        with server(root, workers, "--reload", "--no-access-log") as (port, log):
            probes = await one_per_worker(port, "/edited", workers)
            stats: dict[str, Any] = {
                "requests": 0, "failed": 0, "non_2xx": 0, "wrong": 0, "good": {"00000"}
            }  # fmt: skip
            stop = asyncio.Event()
            loader = asyncio.create_task(load(port, stop, stats, rate))
            await asyncio.sleep(1)
            latencies: list[float] = []
            broken_served = mismatches = 0
            current = "00000"
            for index in range(1, edits + 1):
                broken = "" if index % 10 != 5 else ("syntax" if index % 20 == 5 else "raise")
                source = edited_source(index, broken)
                if not broken:
                    stats["good"].add(f"{index:05d}")
                written = time.perf_counter()
                plugin.write_text(source, encoding="utf-8")
                if broken:
                    await asyncio.sleep(interval)
                    for probe in probes.values():
                        _, body = await probe.request("/edited")
                        broken_served += body["version"] != current
                else:
                    current = f"{index:05d}"
                    pending = set(probes)
                    async with asyncio.timeout(10):
                        while pending:
                            for pid in list(pending):
                                _, body = await probes[pid].request("/edited")
                                if body["version"] == current:
                                    pending.discard(pid)
                    latencies.append((time.perf_counter() - written) * 1000)
                    await asyncio.sleep(max(0.0, interval - latencies[-1] / 1000))
                status_probe = Connection(port)
                _, document = await status_probe.request("/_plughost/status")
                status_probe.close()
                mismatches += bool(document["plugins"]["edited"].get("mismatch"))
            await asyncio.sleep(1)
            stop.set()
            await loader
            for probe in probes.values():
                probe.close()
        text = log.read_text(errors="replace")
    skews = [
        float(m)
        for m in re.findall(
            r"reloaded edited in [\d.]+ ms on 2 workers \(commits ([\d.]+) ms apart\)", text
        )
    ]
    applies = [float(m) for m in re.findall(r"reloaded edited in ([\d.]+) ms", text)]
    failed_logged = len(re.findall(r"plugin 'edited' failed to load in", text))
    good = edits - edits // 10
    label = f"{workers} workers" if workers > 1 else "1 process"
    skew_row = (
        f"| commit skew, first to last worker ({len(skews)} reloads) | "
        f"{statistics.median(skews):.2f} ms | {percentile(skews, 0.95):.2f} ms | "
        f"{max(skews):.2f} ms |"
        if skews
        else "| commit skew | - | - | - |"
    )
    return "\n".join(
        [
            f"{label}, `plughost run --workers {workers} --reload`; {rate:.0f} requests/s on "
            f"/edited and /other over 8 keep-alive connections; {edits} edits {interval} s apart, "
            f"every tenth broken (a SyntaxError or a raise at import); {os.cpu_count()} cores.",
            "",
            "| write -> every worker serves it | median | p95 | max |",
            "|---|--:|--:|--:|",
            f"| {len(latencies)} good edits | **{statistics.median(latencies):.1f} ms** | "
            f"{percentile(latencies, 0.95):.1f} ms | {max(latencies):.1f} ms |",
            f"| of which the reload itself (the server's log) | "
            f"{statistics.median(applies):.1f} ms | {percentile(applies, 0.95):.1f} ms | "
            f"{max(applies):.1f} ms |",
            skew_row,
            "",
            "| requests | failed | non-2xx | broken version served | mismatch left after an edit "
            "| good edits reloaded | broken edits refused |",
            "|--:|--:|--:|--:|--:|--:|--:|",
            f"| {stats['requests']:,} | {stats['failed']} | {stats['non_2xx']} | "
            f"{stats['wrong'] + broken_served} | {mismatches} | {len(applies)} / {good} | "
            f"{failed_logged} / {edits // 10} |",
        ]
    )


# -- one worker refuses ------------------------------------------------------------

PICKY = """
import os
from pathlib import Path

import plughost

VERSION = {version!r}

def setup(host):
    if (Path(host.config.path).parent / f"refuse-{{os.getpid()}}").exists():
        raise RuntimeError(f"refused in worker {{os.getpid()}}")

@plughost.route("/edited")
async def edited():
    return {{"pid": os.getpid(), "version": VERSION}}
"""


async def refuse_run() -> str:
    with project({"edited": PICKY.format(version="old")}) as root:
        with server(root, 2, "--no-access-log") as (port, _):
            probes = await one_per_worker(port, "/edited", 2)
            refusing = max(probes)
            (root / f"refuse-{refusing}").touch()
            (root / "plugins" / "edited.py").write_text(PICKY.format(version="new"))
            control = Connection(port)
            _, report = await control.request("/_plughost/reload", "POST")
            control.close()
            served = {
                pid: (await probe.request("/edited"))[1]["version"] for pid, probe in probes.items()
            }
            for probe in probes.values():
                probe.close()
    line = report["plugins"][0]
    return "\n".join(
        [
            "One of 2 workers refuses a change (its `setup` raises only there); "
            "`POST /_plughost/reload`:",
            "",
            "| report | outcome | worker named | worker's error | versions served afterwards |",
            "|---|---|--:|---|---|",
            f"| ok = {report['ok']} | {line['outcome']} | {line['worker']} "
            f"(refusing: {refusing}) | {line['error'].splitlines()[0]} | "
            + ", ".join(f"{pid}: {version}" for pid, version in sorted(served.items()))
            + " |",
        ]
    )


# -- task stores ---------------------------------------------------------------------


@contextmanager
def redis_server() -> Iterator[str | None]:
    executable = shutil.which("redis-server")
    if executable is None:
        yield None
        return
    port = free_port()
    folder = tempfile.mkdtemp(prefix="plughost-redis-")
    process = subprocess.Popen(
        [executable, "--bind", LOOPBACK, "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((LOOPBACK, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://{LOOPBACK}:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


async def store_rates(kind: str, count: int, folder: Path, url: str | None) -> tuple[float, float]:
    from plughost.tasks import MemoryRecords, TaskRecords, TaskStore
    from plughost.tasks.sqlite import SQLiteRecords

    records: TaskRecords
    if kind == "memory":
        records = MemoryRecords()
    elif kind == "SQLite":
        records = SQLiteRecords(folder / "tasks.sqlite3")
    else:
        from plughost.tasks.redisdb import RedisRecords

        assert url is not None
        records = RedisRecords(url)
    store = TaskStore(records)
    store.loop = asyncio.get_running_loop()
    group = store.group("bench")

    async def work(n: int) -> int:
        return n

    started = time.perf_counter()
    ids = [group.start(work, n) for n in range(count)]
    while store.running():
        await asyncio.wait(store.running())
    start_rate = count / (time.perf_counter() - started)
    kept = ids[-records.max_results :]
    started = time.perf_counter()
    for n in range(count):
        info = await group.aget(kept[n % len(kept)])
        assert info is not None and info.result is not None, (kind, info)
    read_rate = count / (time.perf_counter() - started)
    await store.aclose()
    return start_rate, read_rate


JOBS = """
import os
from plughost import BasePlugin


async def double(n):
    return n * 2


class Jobs(BasePlugin):
    route_path = "jobs"

    def request_handler(self, **args):
        if "n" in args:
            return {"pid": os.getpid(), "id": self.tasks.start(double, int(args["n"]))}
        info = self.tasks.get(args["id"])
        return {"pid": os.getpid(), "state": info.state.value if info else None}
"""


async def cross_worker(samples: int) -> list[float]:
    """Start a task through one worker; time until another worker reads it as done."""
    times = []
    with project({"jobs": JOBS}) as root:
        with server(root, 2, "--no-access-log") as (port, _):
            await one_per_worker(port, "/jobs?id=none", 2)
            probes = await one_per_worker(port, "/jobs?id=none", 2)
            first, second = (probes[pid] for pid in sorted(probes))
            for n in range(samples):
                started = time.perf_counter()
                _, body = await first.request(f"/jobs?n={n}")
                async with asyncio.timeout(10):
                    while (await second.request(f"/jobs?id={body['id']}"))[1]["state"] != "done":
                        pass
                times.append((time.perf_counter() - started) * 1000)
            first.close()
            second.close()
    return times


async def tasks_run(count: int) -> str:
    rows = []
    with redis_server() as url, tempfile.TemporaryDirectory() as folder:
        for kind in ("memory", "SQLite", "Redis"):
            if kind == "Redis" and url is None:
                rows.append("| Redis | (redis-server not installed) | |")
                continue
            start, read = await store_rates(kind, count, Path(folder), url)
            rows.append(f"| {kind} | {start:,.0f} | {read:,.0f} |")
    cross = await cross_worker(20)
    return "\n".join(
        [
            f"{count:,} tasks (an `async def` returning its argument) started, then {count:,} "
            "reads of the 100 kept (the default bound), in one process; Redis on loopback.",
            "",
            "| store | starts/s (to done) | reads/s |",
            "|---|--:|--:|",
            *rows,
            "",
            "A task started through one worker and read through the other (SQLite, 2 workers, "
            f"20 tasks): done and visible after a median of **{statistics.median(cross):.1f} ms** "
            f"(max {max(cross):.1f} ms).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["throughput", "reload", "refuse", "tasks", "all"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    parts = ["throughput", "reload", "refuse", "tasks"] if args.part == "all" else [args.part]
    for part in parts:
        if part == "throughput":
            print(throughput(args.rounds, args.duration))
        elif part == "reload":
            print(asyncio.run(reload_run(args.edits, args.interval, args.rate, 2)))
            print()
            print(asyncio.run(reload_run(args.edits, args.interval, args.rate, 1)))
        elif part == "refuse":
            print(asyncio.run(refuse_run()))
        else:
            print(asyncio.run(tasks_run(args.tasks)))
        print()
    print(f"python bench/workers.py {' '.join(sys.argv[1:])}")


if __name__ == "__main__":
    main()
