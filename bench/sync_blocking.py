"""Blocking sync code next to other plugins: does it ever stall them?

Usage::

    python bench/sync_blocking.py                   # 10 s per mode, 4 clients on /slow
    python bench/sync_blocking.py --seconds 20 --clients 8

One project, served by ``plughost run`` on a free 127.0.0.1 port, holds two plugins:

- ``slow``: ``GET /slow``, a sync ``def`` whose every call sleeps ``--sleep`` s
  (200 ms), as blocking I/O would; with ``--quick-first N``, only after N quick calls,
  so that it earns its place on the event loop first and then blocks there once;
- ``fast``: ``GET /fast``, a sync ``def`` returning a small dict at once.

``--clients`` keep-alive connections (4) call ``/slow`` back to back for ``--seconds``
(10 s) while one more connection polls ``/fast`` in a tight loop. Reported for
``/fast``: its latency (median, p99, max), the gaps between consecutive responses
longer than 250 ms (the event loop held up by a blocking call), and its
requests/s; for ``/slow``, its requests/s (at most clients / sleep when every call
runs in its own worker thread). Targets: ``/fast``'s p99 under 20 ms, and at most one
gap above 250 ms (one per blocking route and version).

Two modes, each a fresh server, in the same run: ``adaptive`` (the default: a sync
endpoint runs on the event loop once it proved quick, in worker threads once it
blocks) and ``thread`` (``[server] sync_to_thread = true``: always worker threads),
the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from reload_common import (
    FAILURES,
    Connection,
    Server,
    command_line,
    environment,
    free_port,
    install_signal_handlers,
    markdown_table,
    percentile,
    stop_all,
    work_folder,
)

__all__ = ["main"]

GAP: float = 0.25
P99_TARGET_MS: float = 20.0

SLOW = """\
import itertools
import time

import plughost

calls = itertools.count()


@plughost.route("/slow")
def slow():
    if next(calls) >= {quick_first}:
        time.sleep({sleep})
    return {{"slept": {sleep}}}
"""

FAST = """\
import plughost


@plughost.route("/fast")
def fast():
    return {"fast": True}
"""


def write_project(root: Path, sleep: float, quick_first: int, to_thread: bool) -> Path:
    (root / "plugins").mkdir(parents=True)
    (root / "plugins" / "slow.py").write_text(SLOW.format(sleep=sleep, quick_first=quick_first))
    (root / "plugins" / "fast.py").write_text(FAST)
    server = "[server]\nsync_to_thread = true\n\n" if to_thread else ""
    (root / "plughost.toml").write_text(
        f"{server}[plugins.slow]\nenabled = true\n\n[plugins.fast]\nenabled = true\n"
    )
    return root


@dataclass
class Run:
    mode: str
    #: (sent, answered) perf_counter times of each /fast response
    fast: list[tuple[float, float]] = field(default_factory=list)
    slow_answers: int = 0
    failures: int = 0
    seconds: float = math.nan
    log: str = ""

    def latencies_ms(self) -> list[float]:
        return [(answered - sent) * 1000 for sent, answered in self.fast]

    def gaps(self) -> list[float]:
        times = [answered for _, answered in self.fast]
        return [
            later - earlier
            for earlier, later in zip(times, times[1:], strict=False)
            if later - earlier > GAP
        ]


async def _hammer(port: int, stop: asyncio.Event, run: Run) -> None:
    connection = Connection(port, "/slow", timeout=30.0)
    try:
        while not stop.is_set():
            try:
                status, _ = await connection.get()
            except FAILURES:
                run.failures += 1
                continue
            if status == 200:
                run.slow_answers += 1
            else:
                run.failures += 1
    finally:
        connection.close()


async def _poll(port: int, stop: asyncio.Event, run: Run) -> None:
    connection = Connection(port, "/fast", timeout=30.0)
    try:
        while not stop.is_set():
            sent = time.perf_counter()
            try:
                status, _ = await connection.get()
            except FAILURES:
                run.failures += 1
                continue
            if status == 200:
                run.fast.append((sent, time.perf_counter()))
            else:
                run.failures += 1
    finally:
        connection.close()


async def measure(folder: Path, mode: str, args: argparse.Namespace) -> Run:
    project = write_project(folder / mode, args.sleep, args.quick_first, mode == "thread")
    port = free_port()
    server = Server(
        f"plughost run ({mode})",
        "plughost.cli.commands:main",
        ["--config", str(project / "plughost.toml"), "run", "--port", str(port)]
        + ["--no-access-log"],
        project,
        port,
        folder / f"{mode}.log",
        max_seconds=args.seconds + 120,
    )
    run = Run(mode)
    server.start()
    try:
        await server.ready("/fast", b'{"fast": true}')
        stop = asyncio.Event()
        tasks = [asyncio.create_task(_hammer(port, stop, run)) for _ in range(args.clients)]
        tasks.append(asyncio.create_task(_poll(port, stop, run)))
        started = time.perf_counter()
        await asyncio.sleep(args.seconds)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=args.sleep * 4 + 30)
        run.seconds = time.perf_counter() - started
    finally:
        server.stop()
        run.log = server.log()
    return run


def report(runs: list[Run], args: argparse.Namespace) -> str:
    rows = []
    for run in runs:
        latencies = run.latencies_ms()
        gaps = run.gaps()
        p99 = percentile(latencies, 99)
        rows.append(
            (
                run.mode,
                statistics.median(latencies) if latencies else math.nan,
                p99,
                max(latencies, default=math.nan),
                f"{len(gaps)}"
                + (f" ({', '.join(f'{g * 1000:.0f} ms' for g in gaps)})" if gaps else ""),
                len(latencies) / run.seconds,
                run.slow_answers / run.seconds,
                run.failures,
                "met" if p99 < P99_TARGET_MS and len(gaps) <= 1 else "**not met**",
            )
        )
    table = markdown_table(
        (
            "mode",
            "/fast median ms",
            "/fast p99 ms",
            "/fast max ms",
            f"gaps > {GAP * 1000:.0f} ms",
            "/fast req/s",
            "/slow req/s",
            "failed",
            "target",
        ),
        rows,
    )
    moved = [line for run in runs for line in run.log.splitlines() if "worker threads from" in line]
    lines = [
        f"## Blocking sync code: /slow sleeps {args.sleep * 1000:.0f} ms per call"
        + (f" after {args.quick_first} quick ones" if args.quick_first else "")
        + ", "
        f"{args.clients} clients, {args.seconds:g} s",
        "",
        table,
        "",
        f"- Targets: /fast p99 under {P99_TARGET_MS:g} ms, at most one gap above "
        f"{GAP * 1000:.0f} ms (one per blocking route and version)",
        f"- /slow's ceiling, every call in its own thread: {args.clients / args.sleep:.0f} req/s",
        f"- Server log lines about moves: {len(moved)}"
        + (f" (first: {moved[0].strip()})" if moved else ""),
        f"- Command: `{command_line()}`",
        f"- {environment()}",
    ]
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> str:
    with work_folder("plughost-blocking-", args.keep) as folder:
        runs = [await measure(folder, mode, args) for mode in args.modes.split(",")]
    return report(runs, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per mode (10)")
    parser.add_argument("--clients", type=int, default=4, help="connections on /slow (4)")
    parser.add_argument("--sleep", type=float, default=0.2, help="seconds /slow sleeps (0.2)")
    parser.add_argument(
        "--quick-first",
        type=int,
        default=0,
        metavar="N",
        help="/slow answers its first N calls at once, so it runs on the event loop "
        "before it starts to block (0)",
    )
    parser.add_argument("--modes", default="adaptive,thread", help="modes to run (adaptive,thread)")
    parser.add_argument("--keep", action="store_true", help="keep the projects and logs")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    args = parser.parse_args(argv)
    install_signal_handlers()
    try:
        text = asyncio.run(_main(args))
    finally:
        stop_all()
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
