"""The CORS origin matrix over HTTP: every response's CORS headers, counted.

Usage::

    python bench/reliability/cors_matrix.py

For each policy (an allow-list without and with credentials, and ``"*"``) it sends
every origin (listed ones, near misses: another scheme, port, letter case or suffix,
``null``, empty, none) to every route (a 200, a 400 raised by the plugin, a 401 from
``auth="global"``, a 404, a 405) and a preflight for each, to a server in this
process on 127.0.0.1. A response is wrong when ``Access-Control-Allow-Origin`` or
``Access-Control-Allow-Credentials`` is not exactly what the policy allows for that
origin, ``Vary`` lacks ``Origin``, or a preflight's status is not 204 (allowed
origin and method), 403 (not allowed) or 404 (no route at the path).

Target: 0 wrong responses.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from served import command, served

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("GET", "POST")


def _definitions() -> object:
    path = ROOT / "tests" / "test_cors_functional.py"
    spec = importlib.util.spec_from_file_location("cors_matrix", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def run() -> tuple[int, list[tuple[object, ...]]]:
    tests = _definitions()
    listed: tuple[str, ...] = tests.LISTED  # type: ignore[attr-defined]
    unlisted: tuple[str | None, ...] = tests.UNLISTED  # type: ignore[attr-defined]
    requests: list[tuple[str, str, int]] = tests.REQUESTS  # type: ignore[attr-defined]
    policies = [(listed, False), (listed, True), (("*",), False)]
    sent = 0
    wrong: list[tuple[object, ...]] = []
    timeout = aiohttp.ClientTimeout(total=10)
    for origins, credentials in policies:
        config = tests._config(origins, credentials)  # type: ignore[attr-defined]
        async with served({"api": tests.API}, config) as (host, port):  # type: ignore[attr-defined]
            base = f"http://{host}:{port}"
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for origin in (*listed, *unlisted):
                    headers = {"Origin": origin} if origin is not None else {}
                    allowed = (
                        origin
                        if origin in origins
                        else ("*" if "*" in origins and origin else None)
                    )
                    for method, path, status in requests:
                        async with session.request(method, base + path, headers=headers) as resp:
                            await resp.read()
                        sent += 1
                        creds = "true" if allowed is not None and credentials else None
                        got = (
                            resp.status,
                            resp.headers.get("Access-Control-Allow-Origin"),
                            resp.headers.get("Access-Control-Allow-Credentials"),
                            "Origin" in resp.headers.get("Vary", ""),
                        )
                        if got != (status, allowed, creds, True):
                            wrong.append((origins, origin, method, path, *got))
                    if origin is None:
                        continue
                    for path in ("/items", "/nowhere"):
                        for method in (*METHODS, "DELETE"):
                            preflight = {**headers, "Access-Control-Request-Method": method}
                            async with session.options(base + path, headers=preflight) as resp:
                                await resp.read()
                            sent += 1
                            if path == "/nowhere":
                                want = 404
                            elif allowed is not None and method in METHODS:
                                want = 204
                            else:
                                want = 403
                            acao = resp.headers.get("Access-Control-Allow-Origin")
                            want_acao = allowed if want != 403 else None
                            if (resp.status, acao) != (want, want_acao):
                                wrong.append(
                                    (origins, origin, "OPTIONS", path, method, resp.status, acao)
                                )
    return sent, wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=300.0, help="bound on the run")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sent, wrong = asyncio.run(asyncio.wait_for(run(), args.max_seconds))
    print(f"Requests: {sent}; wrong CORS answers: {len(wrong)}")
    for item in wrong[:20]:
        print(f"- {item}")
    print(f"Targets: {'met' if not wrong else 'MISSED'}; {time.perf_counter() - started:.0f} s")
    print(f"\nCommand: `{command('cors_matrix.py', argv)}`")
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
