"""In-process dispatch cost: the CPU time plughost adds per request, without sockets or wrk.

Usage::

    python bench/dispatch_inprocess.py                  # every variant, 7 rounds
    python bench/dispatch_inprocess.py --only b,e --requests 50000
    python bench/dispatch_inprocess.py --profile b      # cProfile one variant

It builds the same servers as ``dispatch.py`` in one process and calls each
server's request factory and handler directly, with a prebuilt request
message and no transport: URL resolution, the route's handler and building
the response, but no HTTP parsing and no socket writes (those are the same
aiohttp code for every server). Time is CPU time of the whole process
(``time.process_time``, worker threads included), so other load on the
machine moves it far less than it moves wrk's requests/s.

Read the "extra" column against the server CPU time per request that
``dispatch.py`` reports: extra / total is the share of a request's cost that
plughost adds, and 1 / (1 + extra / total of (a)) the throughput ratio to
expect when the server is CPU-bound.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from aiohttp.http import HttpVersion11
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import EMPTY_PAYLOAD
from dispatch import PATH, VARIANTS, Variant, write_project  # bench/ is sys.path[0]
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

__all__ = ["main"]

Call = Callable[[], Awaitable[web.StreamResponse]]

_HEADERS: Final = CIMultiDictProxy(
    CIMultiDict({"Host": "127.0.0.1:8080", "User-Agent": "wrk", "Accept": "*/*"})
)
MESSAGE: Final = RawRequestMessage(
    method="GET",
    path=PATH,
    version=HttpVersion11,
    headers=_HEADERS,
    raw_headers=tuple((k.encode(), v.encode()) for k, v in _HEADERS.items()),
    should_close=False,
    compression=None,
    upgrade=False,
    chunked=False,
    url=URL(PATH),
)


class _Transport:
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )


class _Protocol:
    """The few attributes a request reads from aiohttp's RequestHandler."""

    ssl_context = None
    peername = ("127.0.0.1", 50000)
    sockname = ("127.0.0.1", 8080)
    transport = _Transport()


async def _hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


def _caller(server: web.Server) -> Call:
    factory = server.request_factory
    handler = server.request_handler
    protocol = _Protocol()

    async def call() -> web.StreamResponse:
        request = factory(MESSAGE, EMPTY_PAYLOAD, protocol, None, None)  # type: ignore[arg-type]
        return await handler(request)

    return call


async def _callers(variants: Sequence[Variant], workdir: Path) -> tuple[dict[str, Call], list[Any]]:
    from plughost.config import load_config
    from plughost.server import build_server, open_host

    callers: dict[str, Call] = {}
    opened: list[Any] = []
    for variant in variants:
        if variant.is_raw:
            app = web.Application()
            app.router.add_get(PATH, _hello)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            opened.append(runner)
            assert runner.server is not None
            callers[variant.key] = _caller(runner.server)
        else:
            config = write_project(workdir / f"project_{variant.key}", variant)
            host = await open_host(load_config(config))
            opened.append(host)
            callers[variant.key] = _caller(build_server(host, access_log=None))
    for key, call in callers.items():
        response = await call()
        if response.status != 200:
            raise RuntimeError(f"({key}) answered {response.status}")
    return callers, opened


async def _time(call: Call, requests: int) -> float:
    """CPU microseconds per request."""
    started = time.process_time()
    for _ in range(requests):
        await call()
    return (time.process_time() - started) / requests * 1e6


async def _run(args: argparse.Namespace, variants: Sequence[Variant]) -> str:
    with tempfile.TemporaryDirectory(prefix="plughost-bench-") as workdir:
        callers, opened = await _callers(variants, Path(workdir))
        try:
            if args.profile:
                return await _profile(callers[args.profile], args.requests)
            for call in callers.values():
                await _time(call, min(args.requests, 2000))  # warm-up
            samples: dict[str, list[float]] = {key: [] for key in callers}
            for index in range(args.rounds):
                for key, call in callers.items():
                    samples[key].append(await _time(call, args.requests))
                print(
                    f"round {index + 1}/{args.rounds}: "
                    + ", ".join(f"({k}) {v[-1]:.2f} µs" for k, v in samples.items()),
                    file=sys.stderr,
                )
        finally:
            for item in reversed(opened):
                if isinstance(item, web.BaseRunner):
                    await item.cleanup()
                else:
                    await item.close()
    return _report(args, variants, samples)


async def _profile(call: Call, requests: int) -> str:
    for _ in range(min(requests, 2000)):
        await call()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        await call()
    profile.disable()
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(30)
    return ""


def _report(
    args: argparse.Namespace, variants: Sequence[Variant], samples: dict[str, list[float]]
) -> str:
    raw = variants[0].key
    lines = [
        "## In-process dispatch cost (CPU µs per request, no sockets)",
        "",
        "| server | median µs | min µs | extra over (a): median of rounds | extra: min − min (a) |",
        "|---|--:|--:|--:|--:|",
    ]
    floor = min(samples[raw])
    for variant in variants:
        values = samples[variant.key]
        if variant.key == raw:
            extras = ["—", "—"]
        else:
            paired = statistics.median(v - a for v, a in zip(values, samples[raw], strict=True))
            extras = [f"{paired:+.2f}", f"{min(values) - floor:+.2f}"]
        lines.append(
            f"| ({variant.key}) {variant.label} | {statistics.median(values):.2f} "
            f"| {min(values):.2f} | {' | '.join(extras)} |"
        )
    argv = " ".join(sys.argv[1:])
    lines += [
        "",
        f"- Command: `python bench/dispatch_inprocess.py{' ' + argv if argv else ''}` "
        f"({args.rounds} rounds of {args.requests:,} requests per server, interleaved)",
        "- Each request: the server's request factory + handler on a prebuilt GET message; "
        "HTTP parsing and socket writes are left out (they are the same for every server)",
        "- CPU time is the whole process's (worker threads included); on a busy machine the "
        "minimum over rounds is the steadier figure",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="plughost in-process dispatch cost")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--requests", type=int, default=20000, help="requests per round (20000)")
    parser.add_argument("--only", default="", help="comma-separated variants, e.g. 'b,e'")
    parser.add_argument(
        "--profile", metavar="VARIANT", help="cProfile one variant instead of timing"
    )
    args = parser.parse_args(argv)
    keys = {v.key for v in VARIANTS}
    wanted = {k.strip() for k in args.only.split(",") if k.strip()}
    if args.profile:
        wanted = {args.profile}
    if not wanted <= keys:
        parser.error(f"unknown variant(s): {', '.join(sorted(wanted - keys))}")
    variants = [v for v in VARIANTS if v.is_raw or not wanted or v.key in wanted]
    if args.profile:
        variants = [v for v in VARIANTS if v.key == args.profile]
    text = asyncio.run(_run(args, variants))
    if text:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
