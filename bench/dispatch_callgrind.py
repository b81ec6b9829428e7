"""Instructions per request under valgrind's callgrind: plughost routes against raw aiohttp.

Usage::

    python bench/dispatch_callgrind.py                 # (a) and every plughost variant
    python bench/dispatch_callgrind.py --only b,e      # (a), (b) and (e)

The servers of ``dispatch.py``, one at a time, each under
``valgrind --tool=callgrind --instr-atstart=no`` on a free 127.0.0.1 port. For each:
``wrk`` warms it up with instrumentation off, then callgrind counts the instructions of
the whole server process (user space, every thread) while ``wrk`` drives it for
``--duration`` seconds; the figure is that count divided by the requests wrk completed.
Unlike requests/s, it hardly moves with what else the machine runs (about 1% between
runs), so it shows differences of a few percent that wrk on a shared machine cannot.

Needs ``valgrind`` (with ``callgrind_control``) and ``wrk``: ``apt-get install valgrind
wrk``. Each server stops when its measurement ends, on an error or on Ctrl-C; a server
also stops by itself after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final

from dispatch import (  # bench/ is sys.path[0]
    PATH,
    SERVER_SCRIPT,
    VARIANTS,
    Server,
    Variant,
    check_server,
    read_port,
    stop_server,
    write_project,
)

__all__ = ["main"]

_REQUESTS: Final = re.compile(r"(\d+) requests in ")
_TOTALS: Final = re.compile(rb"^totals:\s+(\d+)", re.MULTILINE)


def _wrk(args: argparse.Namespace, url: str, seconds: int) -> int:
    """Run wrk; return the requests it completed."""
    command = [args.wrk, "-t1", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "5s", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    found = _REQUESTS.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return int(found.group(1))


def _control(args: argparse.Namespace, option: str, pid: int) -> None:
    subprocess.run(
        [args.callgrind_control, option, str(pid)],
        capture_output=True,
        timeout=60,
        check=True,
    )


def measure(args: argparse.Namespace, variant: Variant, workdir: Path) -> tuple[int, int]:
    """(instructions, requests) of one server under callgrind."""
    out = workdir / f"callgrind.{variant.key}"
    command = [
        args.valgrind,
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}.%p",
        sys.executable,
        str(SERVER_SCRIPT),
        "--max-seconds",
        str(args.max_seconds),
    ]
    if variant.is_raw:
        command.append("raw")
    else:
        command += ["plughost", str(write_project(workdir / f"project_{variant.key}", variant))]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches the driver, which stops it
        )
        try:
            server = Server(variant, process)
            server.port = read_port(process, log, timeout=180)
            check_server(server)
            _wrk(args, server.url, args.warmup)
            _control(args, "--instr=on", process.pid)
            requests = _wrk(args, server.url, args.duration)
            _control(args, "--instr=off", process.pid)
            _control(args, "--dump", process.pid)
        finally:
            stop_server(process)
    totals = [
        int(found.group(1))
        for dump in workdir.glob(f"callgrind.{variant.key}.*")
        if (found := _TOTALS.search(dump.read_bytes()))
    ]
    if not totals or not requests:
        raise RuntimeError(f"({variant.key}): no callgrind dump with a total")
    return max(totals), requests


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: the server is stopped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated variants, e.g. 'b,e'")
    parser.add_argument("--duration", type=int, default=10, help="counted seconds (10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds (3)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--max-seconds", type=int, default=300, help="per server (300)")
    parser.add_argument("--wrk", default="wrk")
    parser.add_argument("--valgrind", default="valgrind")
    parser.add_argument("--callgrind-control", default="callgrind_control")
    args = parser.parse_args(argv)
    wanted = {key.strip() for key in args.only.split(",") if key.strip()}
    unknown = wanted - {v.key for v in VARIANTS}
    if unknown:
        parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
    for name in ("wrk", "valgrind", "callgrind_control"):
        found = shutil.which(getattr(args, name))
        if found is None:
            print(f"{name} not found; apt-get install valgrind wrk", file=sys.stderr)
            return 2
        setattr(args, name, found)
    signal.signal(signal.SIGTERM, _terminate)
    variants = [v for v in VARIANTS if v.is_raw or not wanted or v.key in wanted]
    rows: list[tuple[Variant, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="plughost-callgrind-") as workdir:
        for variant in variants:
            instructions, requests = measure(args, variant, Path(workdir))
            rows.append((variant, instructions, requests))
            print(f"({variant.key}) {instructions // requests:,} per request", file=sys.stderr)
    raw = rows[0][1] / rows[0][2]
    lines = [
        "## Instructions per request (callgrind)",
        "",
        "| server | requests counted | instructions per request | over raw aiohttp |",
        "|---|--:|--:|--:|",
    ]
    for variant, instructions, requests in rows:
        per = instructions / requests
        over = "—" if variant.is_raw else f"{(per / raw - 1) * 100:+.1f}%"
        lines.append(f"| ({variant.key}) {variant.label} | {requests:,} | {per:,.0f} | {over} |")
    argv_text = " ".join(sys.argv[1:])
    lines += [
        "",
        f"- Command: `python bench/dispatch_callgrind.py{' ' + argv_text if argv_text else ''}`",
        f"- Each server alone under callgrind; `wrk -t1 -c{args.connections}` on {PATH}: "
        f"{args.warmup} s uncounted, then {args.duration} s counted (user-space "
        "instructions of the whole server process / requests wrk completed)",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
