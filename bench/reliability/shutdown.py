"""Shutdown with requests and tasks in flight: ``plughost run`` stops within shutdown_timeout.

Usage::

    python bench/reliability/shutdown.py                   # 5 stops, shutdown_timeout = 3
    python bench/reliability/shutdown.py --runs 20 --timeout 2

Each run starts ``plughost --config PROJECT/plughost.toml run`` (a real subprocess,
127.0.0.1, a free port) serving a plugin with a sync handler and an async handler
that each sleep 300 s, and a background task that sleeps 300 s; it sends
``--requests`` requests to each handler, waits until they are running, sends
SIGTERM, and times the exit.

Targets: every stop within ``shutdown_timeout`` plus 2 s (the interpreter's own exit
on a busy machine); exit code 0; the plugin's ``close()`` ran in every run; no
traceback in the output.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from served import command

PLUGIN = """
import asyncio
import pathlib
import time

import plughost

HERE = pathlib.Path(__file__).parent

@plughost.route("/sync")
def sync_handler():
    with (HERE / "started").open("a") as log:
        log.write("sync\\n")
    time.sleep(300)

@plughost.route("/async")
async def async_handler():
    with (HERE / "started").open("a") as log:
        log.write("async\\n")
    await asyncio.sleep(300)

@plughost.route("/quick")
async def quick():
    return {"quick": True}

def setup(plugin):
    async def forever():
        await asyncio.sleep(300)

    plugin.tasks.start(forever)

def close():
    (HERE / "closed").write_text("yes")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=120).read()
    except OSError:
        pass


def one_stop(timeout: float, requests: int) -> tuple[float, int, bool, bool]:
    """Seconds from SIGTERM to exit, the exit code, whether close() ran, and a clean log."""
    with tempfile.TemporaryDirectory(prefix="plughost-shutdown-") as folder:
        root = Path(folder)
        (root / "plugins").mkdir()
        (root / "plugins" / "slow.py").write_text(PLUGIN)
        port = _free_port()
        (root / "plughost.toml").write_text(
            f"[server]\nport = {port}\nshutdown_timeout = {timeout}\n\n"
            "[plugins.slow]\nenabled = true\n"
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "plughost", "--config", str(root / "plughost.toml"), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + "/quick", timeout=5).read()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.1)
            clients = [
                threading.Thread(target=_get, args=(base + path,), daemon=True)
                for path in ("/sync", "/async")
                for _ in range(requests)
            ]
            for client in clients:
                client.start()
            started = root / "plugins" / "started"
            while not started.exists() or len(started.read_text().split()) < 2 * requests:
                if time.monotonic() > deadline:
                    raise RuntimeError("the handlers did not start")
                time.sleep(0.02)
            signalled = time.monotonic()
            server.send_signal(signal.SIGTERM)
            output, _ = server.communicate(timeout=timeout + 60)
            took = time.monotonic() - signalled
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        closed = (root / "plugins" / "closed").exists()
        return took, server.returncode, closed, "Traceback" not in output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=3.0, help="[server] shutdown_timeout")
    parser.add_argument("--requests", type=int, default=2, help="of each handler, per run")
    args = parser.parse_args(argv)
    rows = [one_stop(args.timeout, args.requests) for _ in range(args.runs)]
    print("| run | stop took s | exit code | close() ran | no traceback |")
    print("|---|---|---|---|---|")
    for number, (took, code, closed, clean) in enumerate(rows, 1):
        print(
            f"| {number} | {took:.2f} | {code} | {'yes' if closed else 'NO'} | "
            f"{'yes' if clean else 'NO'} |"
        )
    ok = all(
        took <= args.timeout + 2 and code == 0 and closed and clean
        for took, code, closed, clean in rows
    )
    print(
        f"\nLongest stop: {max(r[0] for r in rows):.2f} s with shutdown_timeout = "
        f"{args.timeout:g} s; {2 * args.requests} handlers and 1 task in flight each run"
    )
    print(f"Targets: {'met' if ok else 'MISSED'}")
    print(f"\nCommand: `{command('shutdown.py', argv)}`")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
