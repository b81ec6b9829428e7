"""Reload at scale: one plugin among 1,000 against one plugin alone; and the event-loop
stall while a slow plugin imports.

Usage::

    python bench/reload_scale.py                    # 20 edits per project, 2 rounds
    python bench/reload_scale.py --plugins 1000 --edits 30 --rounds 3

Part 1 runs the measurement of ``reload_latency.py`` on ``plughost run --reload``
(the Reloader at its default step) for two generated projects, alternately, each
in a temporary folder on a free 127.0.0.1 port: one holding only the ``edited``
plugin, and one holding ``--plugins`` plugins, ``edited`` in the middle of the load
order and the others one-route endpoint plugins like it. A client polls ``GET
/edited`` in a tight loop on one keep-alive connection (raw HTTP/1.1); each edit
rewrites ``edited.py`` in place with the next version number and measures the time
to the first response carrying it. Target: the large project's median within 1.5x
of the small one's. Also shown: plughost's logged reload time, and the longest time
``/edited`` went without any response over a reload (the event loop's stall).

Part 2 serves ``slow``, whose import takes ``--slow-import`` s, next to ``other``;
``/other`` is polled in a tight loop while ``slow`` is edited. The import runs in a
worker thread, so ``/other``'s longest gap between responses over a reload should
stay far below the import time (target: under a tenth of it, for an import that
sleeps: ``time.sleep`` at module level). The same is shown for an import that
spins the CPU for as long, which holds the GIL: the event loop then gets it back
only every switch interval, so ``/other`` keeps answering but fewer times a second.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from pathlib import Path

from reload_common import (
    PLUGHOST_COMMAND,
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
    work_folder,
    write_plughost_project,
)

__all__ = ["main"]


def version(index: int) -> str:
    return f"{index:05d}"


async def run_project(root: Path, plugins: int, edits: int, interval: float) -> EditRun:
    """Edit ``edited`` in a project of ``plugins`` plugins."""
    fillers = [(f"p{n:04d}", plughost_source(f"/p{n:04d}", "filler")) for n in range(plugins - 1)]
    middle = len(fillers) // 2
    listed = [*fillers[:middle], ("edited", plughost_source("/edited", version(0)))]
    listed += fillers[middle:]
    project = write_plughost_project(root / f"project-{plugins}", listed)
    target = project / "plugins" / "edited.py"
    server = plughost_server(project, f"{plugins} plugin{'s' if plugins > 1 else ''}")
    return await measure_edits(
        server,
        write=lambda i: target.write_text(plughost_source("/edited", version(i))),
        body=lambda i: version(i).encode(),
        edits=edits,
        interval=interval,
    )


SLOW_KINDS = {
    "sleep": "import time\n\ntime.sleep({seconds!r})",
    "cpu": "import time\n\n_end = time.perf_counter() + {seconds!r}\n"
    "while time.perf_counter() < _end:\n    pass",
}


async def run_slow(root: Path, kind: str, seconds: float, edits: int) -> EditRun:
    def source(index: int) -> str:
        extra = SLOW_KINDS[kind].format(seconds=seconds)
        return plughost_source("/edited", version(index), extra=extra)

    project = write_plughost_project(
        root / f"project-slow-{kind}",
        [("slow", source(0)), ("other", plughost_source("/other", "other"))],
    )
    target = project / "plugins" / "slow.py"
    return await measure_edits(
        plughost_server(project, f"slow import ({kind})"),
        write=lambda i: target.write_text(source(i)),
        body=lambda i: version(i).encode(),
        edits=edits,
        interval=seconds + 0.5,
        other=("/other", b"other"),
    )


async def measure(
    args: argparse.Namespace,
) -> tuple[dict[int, list[EditRun]], dict[str, EditRun]]:
    scale: dict[int, list[EditRun]] = {1: [], args.plugins: []}
    slow: dict[str, EditRun] = {}
    with work_folder("plughost-scale-", args.keep) as folder:
        root = folder
        for number in range(args.rounds):
            for plugins in (1, args.plugins):
                print(f"round {number + 1}/{args.rounds}: {plugins} plugin(s)", file=sys.stderr)
                where = root / f"round-{number}"
                where.mkdir(exist_ok=True)
                scale[plugins].append(await run_project(where, plugins, args.edits, args.interval))
        for kind in SLOW_KINDS if args.slow_edits else ():
            print(f"slow import: {kind}", file=sys.stderr)
            slow[kind] = await run_slow(root, kind, args.slow_import, args.slow_edits)
    return scale, slow


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plugins", type=int, default=1000, help="plugins in the large project")
    parser.add_argument("--edits", type=int, default=20, help="edits per project per round")
    parser.add_argument("--rounds", type=int, default=2, help="small then large, N times")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between edits")
    parser.add_argument("--slow-import", type=float, default=0.5, help="seconds")
    parser.add_argument("--slow-edits", type=int, default=10, help="0 skips part 2")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="bound on the run")
    parser.add_argument("--keep", action="store_true", help="keep projects and server logs")
    args = parser.parse_args(argv)
    if args.plugins < 2 or args.edits < 1 or args.rounds < 1:
        parser.error("--plugins must be at least 2, --edits and --rounds positive")
    install_signal_handlers()
    started = time.perf_counter()
    try:
        scale, slow = asyncio.run(asyncio.wait_for(measure(args), args.max_seconds))
    finally:
        stop_all()

    print("## Reload at scale: one plugin edited, in a project of 1 and of many plugins\n")
    rows = []
    medians = {}
    for plugins, runs in scale.items():
        latencies = [ms for run in runs for ms in run.latencies()]
        logged = [ms for run in runs for ms in reload_times(run.log, "edited")[0]]
        stalls = [ms for run in runs for ms in run.stalls(run.edited)]
        failed = sum(sum(run.failed(run.edited)) + run.non_2xx(run.edited) for run in runs)
        medians[plugins] = _median(latencies)
        rows.append(
            [
                plugins,
                len(latencies),
                medians[plugins],
                percentile(latencies, 95),
                max(latencies, default=math.nan),
                sum(run.timeouts for run in runs),
                failed + sum(run.wrong_bodies() for run in runs),
                _median(logged),
                _median(stalls),
                max(stalls, default=math.nan),
                _median([run.startup for run in runs]),
            ]
        )
    print(
        markdown_table(
            [
                "plugins",
                "edits",
                "median ms",
                "p95 ms",
                "max ms",
                "never served",
                "failed, non-2xx or wrong",
                "logged reload ms (median)",
                "/edited longest gap over a reload, median ms",
                "max ms",
                "start-up s",
            ],
            rows,
        )
    )
    ratio = medians[args.plugins] / medians[1]
    print(
        f"\n{args.plugins} plugins ÷ 1 plugin, median: **{ratio:.2f}x** "
        f"(target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})"
    )
    if slow:
        print(f"\n## Event-loop stall: a plugin whose import takes {args.slow_import:g} s\n")
        srows = []
        for kind, run in slow.items():
            latencies = run.latencies()
            stalls = run.stalls(run.other)
            during, before = run.throughput(run.other)
            srows.append(
                [
                    "time.sleep" if kind == "sleep" else "busy loop (holds the GIL)",
                    len(latencies),
                    _median(latencies),
                    _median(reload_times(run.log, "slow")[0]),
                    _median(stalls),
                    max(stalls, default=math.nan),
                    run.baseline_gap(run.other),
                    f"{during:.0f} / {before:.0f}",
                    sum(run.failed(run.other)) + run.non_2xx(run.other),
                ]
            )
        print(
            markdown_table(
                [
                    "import",
                    "edits",
                    "edit to new code, median ms",
                    "logged reload ms (median)",
                    "/other longest gap over a reload, median ms",
                    "max ms",
                    "/other longest gap, no edits, ms",
                    "/other responses/s, reloading / no edits",
                    "/other failed or non-2xx",
                ],
                srows,
            )
        )
        if "sleep" in slow:
            worst = max(slow["sleep"].stalls(slow["sleep"].other), default=math.nan)
            limit = args.slow_import * 1000 / 10
            print(
                f"\nLongest /other gap while a sleeping import runs: {worst:.1f} ms against a "
                f"{args.slow_import * 1000:.0f} ms import (target under {limit:.0f} ms: "
                f"{'met' if worst < limit else 'MISSED'})"
            )
    print(f"\n{environment()}; {time.perf_counter() - started:.0f} s\n")
    print(f"Command: `{command_line()}`\n")
    print(f"Server: `{PLUGHOST_COMMAND}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
