"""Slowloris on headers and on bodies: slow clients are cut off, others are still served.

Usage::

    python bench/reliability/slowloris.py                  # 50 slow header senders, 50 slow bodies
    python bench/reliability/slowloris.py --clients 200

A server in this process on 127.0.0.1 with ``keepalive_timeout = 3`` and
``body_timeout = 3``. Half of the slow clients send a request's headers one byte
every 0.5 s and never finish them; the other half send complete headers promising a
1,000-byte body, then one body byte every 0.5 s. Meanwhile a well-behaved client
sends one request every 50 ms. Each slow connection is timed until the server
closes it; a connection still open after 60 s counts as never closed.

Targets: every slow connection closed by the server (headers by about
``keepalive_timeout``, bodies by about ``body_timeout``, each within a few seconds on
a busy machine); 0 failed requests from the well-behaved client.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from served import command, served

PLUGIN = """
import plughost

@plughost.route("/echo", method=["GET", "POST"])
async def echo(**kwargs):
    return {"keys": sorted(kwargs)}
"""
CONFIG = "[server]\nkeepalive_timeout = 3\nbody_timeout = 3\n"
NEVER = 60.0


async def _slow(host: str, port: int, kind: str) -> float:
    """Seconds until the server closed a slow connection (NEVER if it did not)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    if kind == "headers":
        pending = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
    else:
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )
        pending = b" " * 1000

    async def trickle() -> None:
        for byte in pending:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.5)

    sender = asyncio.create_task(trickle())
    try:
        async with asyncio.timeout(NEVER):
            while await reader.read(65536):
                pass
        return time.monotonic() - started
    except (TimeoutError, ConnectionError):
        return time.monotonic() - started if not sender.done() else NEVER
    finally:
        sender.cancel()
        writer.close()


async def _polite(host: str, port: int, stop: asyncio.Event) -> tuple[int, int, list[float]]:
    import aiohttp

    sent = failed = 0
    latencies: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while not stop.is_set():
            began = time.monotonic()
            sent += 1
            try:
                async with session.get(f"http://{host}:{port}/echo?x=1") as resp:
                    await resp.read()
                    failed += resp.status != 200
            except (aiohttp.ClientError, TimeoutError):
                failed += 1
            latencies.append((time.monotonic() - began) * 1000)
            await asyncio.sleep(0.05)
    return sent, failed, latencies


async def run(clients: int) -> dict[str, object]:
    async with served({"slow": PLUGIN}, CONFIG) as (host, port):
        stop = asyncio.Event()
        polite = asyncio.create_task(_polite(host, port, stop))
        kinds = ["headers", "body"] * (clients // 2)
        closed = await asyncio.gather(*(_slow(host, port, kind) for kind in kinds))
        stop.set()
        sent, failed, latencies = await polite
    by_kind = {
        kind: [t for t, k in zip(closed, kinds, strict=True) if k == kind]
        for kind in ("headers", "body")
    }
    return {"by_kind": by_kind, "sent": sent, "failed": failed, "latencies": latencies}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100, help="slow clients, half of each kind")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="bound on the run")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = asyncio.run(asyncio.wait_for(run(args.clients), args.max_seconds))
    ok = True
    print("| slow on | connections | closed by the server | median s | max s |")
    print("|---|---|---|---|---|")
    for kind, times in result["by_kind"].items():  # type: ignore[attr-defined]
        never = sum(1 for t in times if t >= NEVER)
        ok = ok and never == 0
        print(
            f"| {kind} | {len(times)} | {len(times) - never} | "
            f"{statistics.median(times):.1f} | {max(times):.1f} |"
        )
    latencies = sorted(result["latencies"])  # type: ignore[arg-type]
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    print(
        f"\nWell-behaved client: {result['sent']} requests, {result['failed']} failed, "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms"
    )
    ok = ok and result["failed"] == 0
    print(f"Targets: {'met' if ok else 'MISSED'}; {time.perf_counter() - started:.0f} s")
    print(f"\nCommand: `{command('slowloris.py', argv)}`")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
