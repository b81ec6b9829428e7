"""SIGKILL of config writes: random, aimed at the write, and two concurrent writers.

Usage::

    python bench/reliability/config_kill.py              # 50 kills each way, 20 writer pairs
    python bench/reliability/config_kill.py --kills 300 --pairs 100

Each kill starts ``plughost --config PROJECT/plughost.toml plugins set demo count=N``
(a real subprocess) and SIGKILLs it: at a random moment within its usual run time,
or aimed, the moment its temporary file appears next to the config (the write is
under way). After each kill the config must parse and validate, keep every comment,
and hold either the old or the new value; and the next write must succeed (no lock
or temporary file left in the way). Each pair runs two writers at once, setting two
different keys; both values must be in the file afterwards (no lost update).

Targets: 0 corrupt files, 0 lost comments, 0 lost updates, 0 failed next writes.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from served import command

CONFIG = """\
# The project's config.  # comment 1
[server]
port = 1  # comment 2

[plugins.demo]  # comment 3
enabled = true

[plugins.demo.params]
count = 0  # comment 4
# comment 5
"""
COMMENTS = [f"# comment {n}" for n in range(1, 6)]


def _set(config: Path, *pairs: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plughost",
            "--config",
            str(config),
            "plugins",
            "set",
            "demo",
            *pairs,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _check(config: Path, allowed: dict[str, set[object]]) -> list[str]:
    from plughost.config import load_config
    from plughost.errors import ConfigError

    problems = []
    text = config.read_text()
    try:
        params = load_config(config).plugin("demo").params  # type: ignore[union-attr]
    except ConfigError as error:
        return [f"corrupt: {error}"]
    problems += [f"lost comment {c!r}" for c in COMMENTS if c not in text]
    for key, values in allowed.items():
        if params.get(key) not in values:
            problems.append(
                f"{key} = {params.get(key)!r}, expected one of {sorted(map(str, values))}"
            )
    return problems


def _kill_when_writing(process: subprocess.Popen[bytes], folder: Path, limit: float) -> bool:
    """SIGKILL ``process`` as soon as a temporary file appears in ``folder``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if any(name.endswith(".tmp") for name in os.listdir(folder)):
            process.send_signal(signal.SIGKILL)
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50, help="kills of each kind")
    parser.add_argument("--pairs", type=int, default=20, help="rounds of two concurrent writers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="bound on the run")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.monotonic()
    problems: list[str] = []
    counts = {
        "random": 0,
        "aimed": 0,
        "aimed, hit the write": 0,
        "pairs": 0,
        "next write failed": 0,
    }
    with tempfile.TemporaryDirectory(prefix="plughost-kill-") as folder:
        config = Path(folder) / "plughost.toml"
        config.write_text(CONFIG)
        (Path(folder) / "plugins").mkdir()
        clean = _set(config, "count=0")
        clean.wait(60)
        began = time.monotonic()
        _set(config, "count=0").wait(60)
        usual = time.monotonic() - began
        value = 0
        for kind in ("random", "aimed"):
            for _ in range(args.kills):
                assert time.monotonic() - started < args.max_seconds, "time is up"
                value += 1
                process = _set(config, f"count={value}")
                if kind == "random":
                    time.sleep(rng.uniform(0, usual * 1.2))
                    process.send_signal(signal.SIGKILL)
                elif _kill_when_writing(process, Path(folder), 60):
                    counts["aimed, hit the write"] += 1
                process.wait(60)
                counts[kind] += 1
                problems += _check(config, {"count": {value - 1, value}})
                after = _set(config, f"count={value}")
                if after.wait(60) != 0:
                    counts["next write failed"] += 1
                    problems.append(f"next write failed: {after.stderr.read().decode()[:200]}")  # type: ignore[union-attr]
        for number in range(1, args.pairs + 1):
            assert time.monotonic() - started < args.max_seconds, "time is up"
            first, second = _set(config, f"a={number}"), _set(config, f"b={number}")
            codes = (first.wait(60), second.wait(60))
            counts["pairs"] += 1
            if codes != (0, 0):
                problems.append(f"pair {number}: exit codes {codes}")
            problems += _check(config, {"a": {number}, "b": {number}})
    print("| kind | runs |\n|---|---|")
    for kind, count in counts.items():
        print(f"| {kind} | {count} |")
    print(f"\nProblems (corrupt, lost comment, lost update, failed next write): {len(problems)}")
    for problem in problems[:20]:
        print(f"- {problem}")
    print(f"Targets: {'met' if not problems else 'MISSED'}; {time.monotonic() - started:.0f} s")
    print(f"\nCommand: `{command('config_kill.py', argv)}`")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
