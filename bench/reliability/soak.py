"""Reload soak under load with broken edits: in-place and atomic saves, 150 ms and 20 ms apart.

Usage::

    python bench/reliability/soak.py                 # 4 runs, 200 req/s per route, 100 edits
    python bench/reliability/soak.py --rate 500 --edits 300

Runs ``bench/reload_under_load.py`` once per save style and edit interval, each in its
own process and bounded in time (``--max-seconds``), and prints each report. Every
tenth edit is broken on purpose (a SyntaxError or an exception at import); the
targets are 0 failed requests, 0 non-2xx and 0 wrong bodies (no broken version, and
no version older than one already served, is ever answered).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
CASES = [("inplace", 0.15), ("atomic", 0.15), ("inplace", 0.02), ("atomic", 0.02)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s per route")
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--baseline", type=float, default=4.0, help="seconds without edits")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="bound on each run")
    args = parser.parse_args(argv)
    status = 0
    for save, interval in CASES:
        command = [
            sys.executable,
            str(BENCH / "reload_under_load.py"),
            "--save",
            save,
            "--edit-interval",
            str(interval),
            "--edits",
            str(args.edits),
            "--rate",
            str(args.rate),
            "--baseline",
            str(args.baseline),
            "--max-seconds",
            str(args.max_seconds),
        ]
        print(f"# {save} saves, {interval * 1000:g} ms apart\n", flush=True)
        result = subprocess.run(command, timeout=args.max_seconds + 60)
        status = status or result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
