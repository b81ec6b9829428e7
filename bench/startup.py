"""Start-up and memory: ``plughost run`` with 1 plugin against 1,000 one-route plugins.

Usage::

    python bench/startup.py                      # 5 rounds, 1 and 1,000 plugins
    python bench/startup.py --plugins 1000 --rounds 9

Two generated projects, each in a temporary folder: one with a single one-route
endpoint plugin, one with ``--plugins`` of them (1,000). Each round starts
``plughost --config PROJECT/plughost.toml run`` for each project in turn (in its own
process group, on a free 127.0.0.1 port) and measures the time from spawning the
process to the first 200 from the last plugin's route, polled every millisecond:
Python's own start-up, imports, loading every plugin and publishing the route
table. Then, after a second's rest, the server's resident memory (``VmRSS`` from
``/proc``). Reported: medians over rounds; the large project's start-up against
the small one's; the memory the extra plugins add.

Targets: 1,000 plugins serve within 0.6 s and within 3x the 1-plugin start; idle RSS
with one plugin at most 40 MB, and 1,000 plugins add at most 15 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
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
    stop_all,
    work_folder,
)

__all__ = ["main"]

PLUGIN = """\
import plughost


@plughost.route("/{name}")
async def endpoint():
    return "{name}"
"""


def write_project(root: Path, count: int) -> tuple[Path, str]:
    """A project of ``count`` one-route plugins; returns it and the last plugin's name."""
    plugins = root / "plugins"
    plugins.mkdir(parents=True)
    sections = []
    name = ""
    for index in range(count):
        name = f"p{index:04d}"
        (plugins / f"{name}.py").write_text(PLUGIN.format(name=name))
        sections.append(f"[plugins.{name}]\nenabled = true\n")
    (root / "plughost.toml").write_text("\n".join(sections))
    return root, name


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def start_once(
    folder: Path, project: Path, last: str, label: str
) -> tuple[float, float, float]:
    """Seconds from spawn to the first answer from ``/last``, the server's CPU seconds
    by then, and its idle RSS in MB."""
    port = free_port()
    server = Server(
        label,
        "plughost.cli.commands:main",
        ["--config", str(project / "plughost.toml"), "run", "--port", str(port)]
        + ["--no-access-log"],
        project,
        port,
        folder / f"{label}.log",
        max_seconds=120,
    )
    connection = Connection(port, f"/{last}", timeout=5.0)
    started = time.perf_counter()
    server.start()
    try:
        while True:
            if not server.alive():
                raise RuntimeError(f"{label} exited:\n{server.log()[-2000:]}")
            try:
                status, _ = await connection.get()
                if status == 200:
                    break
            except FAILURES:
                pass
            if time.perf_counter() - started > 60:
                raise TimeoutError(f"{label} did not serve /{last} within 60 s")
            await asyncio.sleep(0.001)
        took = time.perf_counter() - started
        assert server.process is not None
        cpu = cpu_seconds(server.process.pid)
        connection.close()
        await asyncio.sleep(1.0)
        return took, cpu, rss_mb(server.process.pid)
    finally:
        connection.close()
        server.stop()


async def _main(args: argparse.Namespace) -> str:
    results: dict[int, list[tuple[float, float, float]]] = {1: [], args.plugins: []}
    with work_folder("plughost-startup-", args.keep) as folder:
        projects = {count: write_project(folder / f"p{count}", count) for count in results}
        for round_ in range(args.rounds):
            for count, (project, last) in projects.items():
                took, cpu, rss = await start_once(folder, project, last, f"{count} plugins")
                results[count].append((took, cpu, rss))
                print(
                    f"round {round_ + 1}/{args.rounds}: {count} plugins {took * 1000:.0f} ms, "
                    f"CPU {cpu * 1000:.0f} ms, {rss:.1f} MB",
                    file=sys.stderr,
                )
    small, large = 1, args.plugins
    start = {n: statistics.median(t for t, _, _ in results[n]) for n in results}
    cpu = {n: statistics.median(c for _, c, _ in results[n]) for n in results}
    rss = {n: statistics.median(r for _, _, r in results[n]) for n in results}
    rows = []
    for n in results:
        low, high = min(t for t, _, _ in results[n]), max(t for t, _, _ in results[n])
        rows.append(
            (
                f"{n:,}",
                start[n] * 1000,
                f"{low * 1000:.0f}–{high * 1000:.0f}",
                cpu[n] * 1000,
                rss[n],
            )
        )
    table = markdown_table(
        ("plugins", "start-up ms (median)", "range ms", "server CPU ms by then", "idle RSS MB"),
        rows,
    )
    lines = [
        f"## Start-up and memory: `plughost run`, 1 against {large:,} one-route plugins",
        "",
        table,
        "",
        f"- {large:,} ÷ 1 start-up: **{start[large] / start[small]:.2f}x** (target at most 3x); "
        f"{large:,} plugins serve in **{start[large] * 1000:.0f} ms** (target 0.6 s); "
        f"in server CPU time, {cpu[large] * 1000:.0f} ms against {cpu[small] * 1000:.0f} ms "
        f"({cpu[large] / cpu[small]:.2f}x)",
        f"- Idle RSS with 1 plugin: **{rss[small]:.1f} MB** (target at most 40 MB); "
        f"{large:,} plugins add **{rss[large] - rss[small]:.1f} MB** (target at most 15 MB)",
        f"- {args.rounds} rounds, the two projects alternating; start-up is from spawning the "
        "process to the first 200 from the last plugin's route; the server's CPU time by then "
        "(user + system, from /proc) moves far less with the machine's load than wall time",
        f"- Command: `{command_line()}`",
        f"- {environment()}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plugins", type=int, default=1000, help="plugins in the large project")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
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
