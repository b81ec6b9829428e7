"""Reload under load: edit a plugin 100 times while both its route and another
plugin's route are under steady load; count failures, check bodies, compare p99.

Usage::

    python bench/reload_under_load.py                   # 500 req/s per route, 100 edits
    python bench/reload_under_load.py --rate 1000 --rounds 3

``plughost run --reload`` (the Reloader at its default step) serves two plugins from
a project in a temporary folder, on a free 127.0.0.1 port: ``edited`` (``GET
/edited`` answers its ``VERSION``; its ``setup`` and ``close`` append to a ledger
file) and ``other`` (``GET /other``). Each route gets ``--rate`` requests/s, paced
(open loop) over ``--connections`` keep-alive connections (raw HTTP/1.1, no
retries); latency counts from when a request was due, so a stalled server is not
hidden by a client waiting for it.

Timeline: ``--warmup`` s (not counted), half of ``--baseline`` s without edits, the
reload phase (``--edits`` edits ``--edit-interval`` s apart, then 1 s), the other
half of ``--baseline``. Every tenth edit is broken on purpose, alternately a
SyntaxError and an exception raised at import: the old version must keep answering.
Edits rewrite the file in place with the next version number (same size each time,
many within one second); ``--save`` and ``--save-gap`` save the way other editors do,
and slowly (``--save backup --save-gap 0.03``: the file is gone for 30 ms).

Checked: failed and non-2xx requests (target 0); wrong bodies on ``/edited`` (a
version never written as good, or older than one some client had already received
when the request was sent); which good versions were served; reloads logged as done
and as failed; the ledger (every ``setup`` closed exactly once once the server has
stopped). Compared: ``/other``'s p99 during the reloads against its p99 without
(target: within 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reload_common import (
    FAILURES,
    PLUGHOST_COMMAND,
    SAVE_STYLES,
    Connection,
    Sample,
    command_line,
    environment,
    install_signal_handlers,
    markdown_table,
    percentile,
    plughost_server,
    plughost_source,
    reload_times,
    save_file,
    stop_all,
    work_folder,
    write_plughost_project,
)

__all__ = ["main"]

ROUTES = ("/edited", "/other")


def version(index: int) -> str:
    return f"{index:05d}"


def broken_kind(index: int) -> str:
    """'' for a good edit; every tenth edit is broken, alternately two ways."""
    if index % 10 != 5:
        return ""
    return "syntax" if index % 20 == 5 else "raise"


def edited_source(index: int, ledger: Path) -> str:
    extra = "\n".join(
        [
            "import uuid",
            "",
            f"LEDGER = {str(ledger)!r}",
            "INSTANCE = uuid.uuid4().hex",
            "",
            "",
            "def _note(what: str) -> None:",
            '    with open(LEDGER, "a") as file:',
            '        file.write(f"{what} {VERSION} {INSTANCE}\\n")',
            "",
            "",
            "def setup(host) -> None:",
            '    _note("setup")',
            "",
            "",
            "def close() -> None:",
            '    _note("close")',
        ]
    )
    return plughost_source("/edited", version(index), extra=extra, broken=broken_kind(index))


async def paced(
    port: int, path: str, rate: float, start: float, stop_at: float, out: list[Sample]
) -> None:
    """Send GETs due every 1/rate s from ``start``; a late request is sent at once."""
    connection = Connection(port, path)
    due = start
    period = 1.0 / rate
    try:
        while due < stop_at:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            try:
                status, body = await connection.get()
            except FAILURES as error:
                kind = ("reused:" if connection.reused else "new:") + type(error).__name__
                out.append(Sample(due, sent, time.perf_counter(), -1, kind.encode()))
            else:
                out.append(Sample(due, sent, time.perf_counter(), status, body))
            due += period
    finally:
        connection.close()


@dataclass
class Round:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    #: (start, end) of the phases, by due time
    baseline: list[tuple[float, float]] = field(default_factory=list)
    reloads: tuple[float, float] = (math.nan, math.nan)
    #: per edit: index, write time
    writes: list[tuple[int, float]] = field(default_factory=list)
    log: str = ""
    ledger: str = ""
    exit_code: int | None = None
    final_body: bytes = b""

    def phase(self, route: str, name: str) -> list[Sample]:
        spans = self.baseline if name == "baseline" else [self.reloads]
        return [s for s in self.samples[route] if any(a <= s.due < b for a, b in spans)]


async def one_round(root: Path, args: argparse.Namespace) -> Round:
    ledger = root / "ledger.txt"
    project = write_plughost_project(
        root / "project",
        [
            ("edited", edited_source(0, ledger)),
            ("other", plughost_source("/other", "other")),
        ],
    )
    target = project / "plugins" / "edited.py"
    server = plughost_server(project)
    result = Round()
    server.start()
    try:
        await server.ready("/edited", version(0).encode())
        await server.ready("/other", b"other")
        now = time.perf_counter()
        start = now + 0.1
        half = args.baseline / 2
        first_edit = start + args.warmup + half
        reload_end = first_edit + (args.edits - 1) * args.edit_interval + 1.0
        stop_at = reload_end + half
        result.baseline = [(start + args.warmup, first_edit), (reload_end, stop_at)]
        result.reloads = (first_edit, reload_end)
        per_connection = args.rate / args.connections
        tasks = []
        for route in ROUTES:
            out = result.samples[route] = []
            for k in range(args.connections):
                offset = start + k / args.rate
                tasks.append(
                    asyncio.create_task(
                        paced(server.port, route, per_connection, offset, stop_at, out)
                    )
                )
        try:
            for index in range(1, args.edits + 1):
                delay = first_edit + (index - 1) * args.edit_interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                result.writes.append((index, time.perf_counter()))
                text = edited_source(index, ledger)
                if args.save_gap:
                    await asyncio.to_thread(save_file, target, text, args.save, args.save_gap)
                else:
                    save_file(target, text, args.save)
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        check = Connection(server.port, "/edited")
        try:
            result.final_body = (await check.get())[1]
        finally:
            check.close()
    finally:
        result.exit_code = server.stop()
        result.log = server.log()
        result.ledger = ledger.read_text() if ledger.exists() else ""
    return result


def good_indices(edits: int) -> list[int]:
    return [0, *(i for i in range(1, edits + 1) if not broken_kind(i))]


def wrong_bodies(samples: list[Sample], edits: int) -> int:
    """Bodies no good version explains, or older than one received before the request
    was sent (by any client: the server swaps its route table in one assignment)."""
    order = {version(i).encode(): i for i in good_indices(edits)}
    received = sorted((s.received, order.get(s.body, -1)) for s in samples if s.ok)
    times = [t for t, _ in received]
    best = []
    newest = -1
    for _, index in received:
        newest = max(newest, index)
        best.append(newest)
    wrong = 0
    for sample in samples:
        if not sample.ok:
            continue
        found = order.get(sample.body)
        if found is None:
            wrong += 1
            continue
        before = bisect.bisect_left(times, sample.sent) - 1
        if before >= 0 and found < best[before]:
            wrong += 1
    return wrong


def served_latencies(result: Round) -> tuple[list[float], int]:
    """Per good edit, ms from its write to the first response carrying it; and how many
    good edits were never served."""
    samples = sorted((s for s in result.samples["/edited"] if s.ok), key=lambda s: s.received)
    latencies: list[float] = []
    missing = 0
    for index, wrote in result.writes:
        if broken_kind(index):
            continue
        body = version(index).encode()
        first = next((s.received for s in samples if s.body == body and s.received > wrote), None)
        if first is None:
            missing += 1
        else:
            latencies.append((first - wrote) * 1000)
    return latencies, missing


def ledger_check(text: str) -> tuple[int, int, int]:
    """Setups, setups not closed exactly once, closes without a setup."""
    setups: Counter[str] = Counter()
    closes: Counter[str] = Counter()
    for line in text.splitlines():
        what, _, instance = line.split()
        (setups if what == "setup" else closes)[instance] += 1
    bad = sum(1 for instance in setups if closes[instance] != 1 or setups[instance] != 1)
    orphans = sum(1 for instance in closes if instance not in setups)
    return sum(setups.values()), bad, orphans


def latency_row(route: str, phase: str, samples: list[Sample]) -> list[object]:
    ms = [(s.received - s.due) * 1000 for s in samples if not s.failed]
    service = [(s.received - s.sent) * 1000 for s in samples if not s.failed]
    return [
        route,
        phase,
        len(samples),
        sum(1 for s in samples if s.failed),
        sum(1 for s in samples if not s.failed and not s.ok),
        percentile(ms, 50),
        percentile(ms, 99),
        percentile(ms, 99.9),
        max(ms, default=math.nan),
        percentile(service, 99),
    ]


async def measure(args: argparse.Namespace) -> list[Round]:
    rounds = []
    for number in range(args.rounds):
        print(f"round {number + 1}/{args.rounds}", file=sys.stderr)
        with work_folder("plughost-load-", args.keep) as folder:
            rounds.append(await one_round(folder, args))
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s per route")
    parser.add_argument("--connections", type=int, default=4, help="connections per route")
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--edit-interval", type=float, default=0.15, help="seconds")
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds without edits")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds, not counted")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--save", choices=SAVE_STYLES, default="inplace", help="how each edit is saved"
    )
    parser.add_argument(
        "--save-gap",
        type=float,
        default=0.0,
        help="seconds a save stays half done (inplace: file empty; backup: file gone)",
    )
    parser.add_argument("--max-seconds", type=float, default=900.0, help="bound on the run")
    parser.add_argument("--keep", action="store_true", help="keep projects and server logs")
    args = parser.parse_args(argv)
    install_signal_handlers()
    started = time.perf_counter()
    try:
        rounds = asyncio.run(asyncio.wait_for(measure(args), args.max_seconds))
    finally:
        stop_all()

    broken = sum(1 for i in range(1, args.edits + 1) if broken_kind(i))
    print(f"## Reload under load: {args.edits} edits ({broken} broken on purpose)\n")
    rows = []
    ratios = []
    for number, result in enumerate(rounds, 1):
        during = {route: result.phase(route, "reloads") for route in ROUTES}
        failed = sum(1 for r in ROUTES for s in result.samples[r] if s.failed)
        non_2xx = sum(1 for r in ROUTES for s in result.samples[r] if not s.failed and not s.ok)
        latencies, missing = served_latencies(result)
        done, failed_reloads = reload_times(result.log, "edited")
        setups, bad, orphans = ledger_check(result.ledger)
        last_good = max(good_indices(args.edits))
        base_p99 = percentile(
            [(s.received - s.due) * 1000 for s in result.phase("/other", "baseline")], 99
        )
        reload_p99 = percentile([(s.received - s.due) * 1000 for s in during["/other"]], 99)
        ratios.append(reload_p99 / base_p99)
        rows.append(
            [
                number,
                sum(len(result.samples[r]) for r in ROUTES),
                failed,
                non_2xx,
                wrong_bodies(result.samples["/edited"], args.edits),
                f"{len(latencies)}/{len(latencies) + missing}",
                percentile(latencies, 50),
                percentile(latencies, 95),
                f"{len(done)} / {failed_reloads}",
                f"{setups} / {bad} / {orphans}",
                "yes" if result.final_body == version(last_good).encode() else "NO",
                f"{reload_p99 / base_p99:.2f}x",
            ]
        )
    print(
        markdown_table(
            [
                "round",
                "requests",
                "failed",
                "non-2xx",
                "wrong body",
                "good edits served",
                "edit to new code, median ms",
                "p95 ms",
                "reloads logged ok / failed",
                "setups / not closed once / stray closes",
                "last good version served",
                "/other p99 reloads ÷ baseline",
            ],
            rows,
        )
    )
    print("\nLatency in ms from when each request was due (all rounds pooled):\n")
    latency_rows = []
    for route in ROUTES:
        for phase in ("baseline", "reloads"):
            pooled = [s for result in rounds for s in result.phase(route, phase)]
            latency_rows.append(latency_row(route, phase, pooled))
    print(
        markdown_table(
            [
                "route",
                "phase",
                "requests",
                "failed",
                "non-2xx",
                "p50",
                "p99",
                "p99.9",
                "max",
                "p99 from send",
            ],
            latency_rows,
        )
    )
    failures = sum(int(str(row[2])) + int(str(row[3])) + int(str(row[4])) for row in rows)
    ratio = statistics.median(ratios)
    print(
        f"\nTargets: 0 failed, non-2xx or wrong responses: "
        f"{'met' if failures == 0 else 'MISSED'}; /other p99 during reloads within 2x of "
        f"baseline (median over rounds {ratio:.2f}x): {'met' if ratio <= 2 else 'MISSED'}"
    )
    print(
        f"\n{environment()}; {args.rate:g} req/s per route over {args.connections} "
        f"connections each; saves: {args.save}, gap {args.save_gap * 1000:g} ms; "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    print(f"Command: `{command_line()}`\n")
    print(f"Server: `{PLUGHOST_COMMAND}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
