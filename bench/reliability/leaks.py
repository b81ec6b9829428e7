"""Leak check: reload one plugin 1,000 times and watch what the process holds.

Usage::

    python bench/reliability/leaks.py                  # 1,000 reloads, a checkpoint per 100
    python bench/reliability/leaks.py --reloads 3000

One process, one Host (as ``plughost run`` opens it), one plugin in a project in a
temporary folder. Each reload rewrites the plugin (a new version number; every tenth
edit raises at import, so failed loads are counted too) and calls ``Host.load``; each
good version's ``setup`` starts a background task and registers a route, and its
``close`` is counted. After every 100 reloads, once the replaced versions are closed,
it records RSS, threads, open file descriptors, ``sys.modules``, asyncio tasks, and
the setup and close counts.

Targets: no growth per 100 reloads beyond noise (threads, fds, modules and tasks flat;
RSS growing by less than 1 MiB per 100 reloads after the first checkpoint); every
``setup`` but the live one's closed exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from served import command

PLUGIN = """
import asyncio
import pathlib

import plughost

LEDGER = pathlib.Path({ledger!r})
VERSION = {version}
{broken}

def setup(plugin):
    with LEDGER.open("a") as ledger:
        ledger.write(f"setup {{VERSION}}\\n")

    async def work():
        await asyncio.sleep(0)
        return VERSION

    plugin.tasks.start(work)

def close():
    with LEDGER.open("a") as ledger:
        ledger.write(f"close {{VERSION}}\\n")

@plughost.route("/v")
async def v():
    return {{"version": VERSION}}
"""


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _sample(label: str, ledger: Path) -> dict[str, object]:
    gc.collect()
    lines = ledger.read_text().split() if ledger.exists() else []
    return {
        "reloads": label,
        "RSS MiB": round(_rss_kib() / 1024, 1),
        # the pyc writer's timer thread comes and goes half a second after a compile
        "threads": sum(1 for t in threading.enumerate() if t.name != "plughost-pyc"),
        "fds": len(os.listdir("/proc/self/fd")),
        "modules": len(sys.modules),
        "tasks": len(asyncio.all_tasks()),
        "setups": lines[0::2].count("setup"),
        "closes": lines[0::2].count("close"),
    }


async def run(reloads: int, every: int) -> list[dict[str, object]]:
    from plughost.config import load_config
    from plughost.server import open_host

    with tempfile.TemporaryDirectory(prefix="plughost-leaks-") as folder:
        root = Path(folder)
        ledger = root / "ledger.txt"
        plugin = root / "plugins" / "leaky.py"
        plugin.parent.mkdir()
        plugin.write_text(PLUGIN.format(ledger=str(ledger), version=0, broken=""))
        (root / "plughost.toml").write_text(
            "[server]\ndrain_timeout = 1\n\n[plugins.leaky]\nenabled = true\n"
        )
        host = await open_host(load_config(root / "plughost.toml"))
        rows = [_sample("0", ledger)]
        failed = 0
        try:
            for number in range(1, reloads + 1):
                broken = "raise RuntimeError('broken on purpose')" if number % 10 == 5 else ""
                plugin.write_text(PLUGIN.format(ledger=str(ledger), version=number, broken=broken))
                result = await host.load("leaky")
                failed += not result.ok
                if number % every == 0:
                    # Let replaced versions finish retiring before counting.
                    for _ in range(200):
                        if len(asyncio.all_tasks()) <= 1:
                            break
                        await asyncio.sleep(0.01)
                    rows.append(_sample(str(number), ledger))
        finally:
            await host.close()
        rows.append(_sample("closed", ledger))
        rows[-1]["failed loads"] = failed
        return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100, help="reloads per checkpoint")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound on the run")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = asyncio.run(asyncio.wait_for(run(args.reloads, args.every), args.max_seconds))
    keys = [k for k in rows[0]]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row.get(k, "")) for k in keys) + " |")
    first, last = rows[1], rows[-2]
    spans = (int(str(last["reloads"])) - int(str(first["reloads"]))) / args.every or 1
    growth = {
        k: (float(str(last[k])) - float(str(first[k]))) / spans
        for k in ("RSS MiB", "threads", "fds", "modules", "tasks")
    }
    print(
        "\nGrowth per 100 reloads after the first checkpoint: "
        + ", ".join(f"{k} {v:+.2f}" for k, v in growth.items())
    )
    final = rows[-1]
    closed_once = final["setups"] == final["closes"]
    flat = all(abs(growth[k]) < 0.5 for k in ("threads", "fds", "modules", "tasks"))
    ok = flat and growth["RSS MiB"] < 1.0 and closed_once
    print(f"Failed loads (broken on purpose): {final['failed loads']}")
    print(f"Every setup closed once after close(): {'yes' if closed_once else 'NO'}")
    print(f"Targets: {'met' if ok else 'MISSED'}; {time.perf_counter() - started:.0f} s")
    print(f"\nCommand: `{command('leaks.py', argv)}`")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
