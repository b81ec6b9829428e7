"""Reload latency: from a file write to the first response served by the new code.

Usage::

    python bench/reload_latency.py                  # 30 edits per server, 1 round
    python bench/reload_latency.py --edits 20 --rounds 3

Two servers run one after the other in the same run, each on a fresh project in a
temporary folder, each on a free 127.0.0.1 port:

- ``plughost run --reload`` (the Reloader at its default step) serving two plugins,
  ``edited`` (``GET /edited`` answers its ``VERSION``) and ``other`` (``GET /other``);
- ``uvicorn --reload`` (the anchor) serving a raw ASGI app with the same two routes,
  ``/edited`` answering ``edited.VERSION`` from ``edited.py``.

One client polls ``/edited`` and another ``/other``, each in a tight loop on its own
keep-alive connection (raw HTTP/1.1, no retries). Each edit rewrites the edited file
in place with the next version number (same size every time) and measures the time
until ``/edited`` first answers it. Edits are ``--interval`` s apart (at least one
second, so uvicorn's timestamp-checked ``.pyc`` cannot serve a stale version), and
never sooner than 0.25 s after the previous edit was served.

Reported per server: median, p95 and max latency; requests that failed during the
edits (on a keep-alive connection that had served before, or on a new one); non-2xx
and wrong responses (a body that no written version explains, or older than one the
poller had already received); the longest time ``/other`` went without a response
over each reload (median and max over edits), against its longest gap in the quiet
second before the first edit; and plughost's own logged reload time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from reload_common import (
    PLUGHOST_COMMAND,
    UVICORN_COMMAND,
    EditRun,
    command_line,
    environment,
    install_signal_handlers,
    markdown_table,
    measure_edits,
    percentile,
    plughost_server,
    plughost_source,
    reload_times,
    stop_all,
    uvicorn_server,
    uvicorn_source,
    work_folder,
    write_plughost_project,
    write_uvicorn_project,
)

__all__ = ["main", "run_plughost", "run_uvicorn"]


def version(index: int) -> str:
    return f"{index:05d}"


async def run_plughost(root: Path, edits: int, interval: float) -> EditRun:
    project = write_plughost_project(
        root / "plughost-project",
        [
            ("edited", plughost_source("/edited", version(0))),
            ("other", plughost_source("/other", "other")),
        ],
    )
    target = project / "plugins" / "edited.py"
    return await measure_edits(
        plughost_server(project),
        write=lambda i: target.write_text(plughost_source("/edited", version(i))),
        body=lambda i: version(i).encode(),
        edits=edits,
        interval=interval,
        other=("/other", b"other"),
    )


async def run_uvicorn(root: Path, edits: int, interval: float) -> EditRun:
    project = write_uvicorn_project(root / "uvicorn-project", version(0))
    target = project / "edited.py"
    return await measure_edits(
        uvicorn_server(project),
        write=lambda i: target.write_text(uvicorn_source(version(i))),
        body=lambda i: version(i).encode(),
        edits=edits,
        interval=interval,
        other=("/other", b"other"),
    )


def summarize(label: str, runs: list[EditRun]) -> list[object]:
    latencies = [ms for run in runs for ms in run.latencies()]
    stalls = [ms for run in runs for ms in run.stalls(run.other)]
    reused = sum(run.failed(run.edited)[0] + run.failed(run.other)[0] for run in runs)
    new = sum(run.failed(run.edited)[1] + run.failed(run.other)[1] for run in runs)
    non_2xx = sum(run.non_2xx(run.edited) + run.non_2xx(run.other) for run in runs)
    logged = [ms for run in runs for ms in reload_times(run.log, "edited")[0]]
    return [
        label,
        sum(len(run.edits) for run in runs),
        statistics.median(latencies) if latencies else float("nan"),
        percentile(latencies, 95),
        max(latencies, default=float("nan")),
        sum(run.timeouts for run in runs),
        reused,
        new,
        non_2xx,
        sum(run.wrong_bodies() for run in runs),
        statistics.median(stalls) if stalls else float("nan"),
        max(stalls, default=float("nan")),
        max(run.baseline_gap(run.other) for run in runs),
        statistics.median(logged) if logged else "–",
    ]


async def measure(
    edits: int, rounds: int, interval: float, keep: bool
) -> tuple[list[EditRun], list[EditRun]]:
    plughost_runs: list[EditRun] = []
    uvicorn_runs: list[EditRun] = []
    for round_number in range(rounds):
        with work_folder("plughost-reload-", keep) as folder:
            root = folder
            print(f"round {round_number + 1}/{rounds}: plughost", file=sys.stderr)
            plughost_runs.append(await run_plughost(root, edits, interval))
            print(f"round {round_number + 1}/{rounds}: uvicorn", file=sys.stderr)
            uvicorn_runs.append(await run_uvicorn(root, edits, interval))
    return plughost_runs, uvicorn_runs


HEADER = [
    "server",
    "edits",
    "median ms",
    "p95 ms",
    "max ms",
    "never served",
    "failed (kept-alive conn)",
    "failed (new conn)",
    "non-2xx",
    "wrong body",
    "/other stall median ms",
    "/other stall max ms",
    "/other longest gap, no edits, ms",
    "plughost logged reload ms (median)",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=30, help="edits per server per round")
    parser.add_argument("--rounds", type=int, default=1, help="plughost then uvicorn, N times")
    parser.add_argument(
        "--interval", type=float, default=1.1, help="seconds between edits (at least 1)"
    )
    parser.add_argument("--max-seconds", type=float, default=900.0, help="bound on the run")
    parser.add_argument("--keep", action="store_true", help="keep projects and server logs")
    args = parser.parse_args(argv)
    if args.edits < 1 or args.rounds < 1 or args.interval < 1.0:
        parser.error("--edits and --rounds must be positive, --interval at least 1 s")
    install_signal_handlers()
    started = time.perf_counter()
    try:
        plughost_runs, uvicorn_runs = asyncio.run(
            asyncio.wait_for(
                measure(args.edits, args.rounds, args.interval, args.keep), args.max_seconds
            )
        )
    finally:
        stop_all()
    ours = summarize("plughost run --reload", plughost_runs)
    anchor = summarize("uvicorn --reload", uvicorn_runs)
    print("## Reload latency: file write to first response from the new code\n")
    print(markdown_table(HEADER, [ours, anchor]))
    ours_median, ours_p95, anchor_median = ours[2], ours[3], anchor[2]
    assert isinstance(ours_median, float) and isinstance(anchor_median, float)
    assert isinstance(ours_p95, float)
    ratio = anchor_median / ours_median

    def verdict(met: bool) -> str:
        return "met" if met else "MISSED"

    print(
        f"\nuvicorn --reload / plughost median: **{ratio:.1f}x** (targets: plughost median "
        f"<= 10 ms: {verdict(ours_median <= 10)}; p95 <= 15 ms: {verdict(ours_p95 <= 15)}; "
        f">= 30x faster than the anchor: {verdict(ratio >= 30)})"
    )
    print(f"\n{environment()}; {time.perf_counter() - started:.0f} s\n")
    print(f"Command: `{command_line()}`\n")
    print(f"Servers: `{PLUGHOST_COMMAND}`; `{UVICORN_COMMAND}` (cwd PROJECT)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
