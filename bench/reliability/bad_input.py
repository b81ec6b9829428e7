"""Bad input over HTTP: a fixed corpus and hypothesis-generated bodies; count the 5xx.

Usage::

    python bench/reliability/bad_input.py                 # the corpus, 2,000 generated bodies
    python bench/reliability/bad_input.py --examples 10000

The corpus is the one ``tests/test_bad_input_functional.py`` runs in CI (lone
surrogates in JSON values, keys and API keys, unknown charsets in forms and multipart
parts, malformed multipart, invalid UTF-8, deep nesting, too many form fields,
reserved names), sent to four routes: a ``**kwargs`` echo, a str-returning route, a
route with ``auth="global"`` and a ``BasePlugin`` with ``auth_type = "global"``.
Generated bodies are arbitrary JSON values (hypothesis), sent as JSON, and the same
values' bytes with lone surrogates spliced in. The server runs in this process on
127.0.0.1; every request is bounded by a 10 s timeout.

Target: 0 responses of 500 or above, and no traceback logged.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from served import command, served

ROOT = Path(__file__).resolve().parents[2]


def _corpus() -> tuple[str, list[tuple[str, str, dict[str, object]]], str]:
    path = ROOT / "tests" / "test_bad_input_functional.py"
    spec = importlib.util.spec_from_file_location("bad_input_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ECHO, module.CORPUS, module.CONFIG


def _generated(count: int) -> list[bytes]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
        max_leaves=20,
    )
    bodies: list[bytes] = []

    @settings(
        max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(values, st.integers(0, 3))
    def collect(value: object, splice: int) -> None:
        body = json.dumps(value).encode()
        if splice and b'"' in body:
            # A lone surrogate escape inside the first string.
            at = body.index(b'"') + 1
            body = body[:at] + (b"\\ud800", b"\\udfff", b"\\ud83d")[splice - 1] + body[at:]
        bodies.append(body)

    collect()
    return bodies


class _Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.count += 1


async def run(examples: int) -> tuple[Counter[int], int, int]:
    echo, corpus, config = _corpus()
    bodies = _generated(examples)
    statuses: Counter[int] = Counter()
    tracebacks = _Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    timeout = aiohttp.ClientTimeout(total=10)
    async with served({"echo": echo}, config) as (host, port):
        base = f"http://{host}:{port}"
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for method, path, kwargs in corpus:
                async with session.request(method, base + path, **kwargs) as resp:  # type: ignore[arg-type]
                    await resp.read()
                    statuses[resp.status] += 1
            for number, body in enumerate(bodies):
                path = ("/echo", "/text", "/guarded", "/keyed")[number % 4]
                async with session.post(
                    base + path, data=body, headers={"Content-Type": "application/json"}
                ) as resp:
                    await resp.read()
                    statuses[resp.status] += 1
    return statuses, tracebacks.count, len(corpus)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="generated JSON bodies")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound on the run")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    statuses, tracebacks, corpus = asyncio.run(
        asyncio.wait_for(run(args.examples), args.max_seconds)
    )
    errors = sum(n for status, n in statuses.items() if status >= 500)
    print(f"Requests: {sum(statuses.values())} ({corpus} from the corpus)")
    print("Statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    print(f"5xx: {errors}; tracebacks logged: {tracebacks}")
    print(
        f"Targets: {'met' if errors == tracebacks == 0 else 'MISSED'}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(f"\nCommand: `{command('bad_input.py', argv)}`")
    return 0 if errors == tracebacks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
