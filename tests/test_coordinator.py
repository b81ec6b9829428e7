"""The coordinator's two phases over its real socket, with workers that answer by script."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plughost.config import parse_config
from plughost.reload.change import ChangeRequest
from plughost.workers.channel import DECISION_TIMEOUT, PREPARE_TIMEOUT, Channel
from plughost.workers.coordinator import Coordinator

Message = dict[str, Any]


async def worker(
    socket_path: str, pid: int, answer: Callable[[Message], Message]
) -> tuple[Channel, asyncio.Task[None]]:
    """A worker on the coordinator's socket that answers each request with ``answer``."""
    reader, writer = await asyncio.open_unix_connection(socket_path)

    async def handle(message: Message) -> Message:
        return answer(message)

    channel = Channel(reader, writer, handle)
    reading = asyncio.create_task(channel.run())
    await channel.request({"op": "hello", "pid": pid}, 10)
    return channel, reading


def scripted(commit_ok: bool) -> Callable[[Message], Message]:
    def answer(message: Message) -> Message:
        if message["op"] == "prepare":
            return {"ok": True, "error": None, "failures": {}, "staged": ["hello"]}
        plugins = [{"name": "hello", "outcome": "reloaded", "version": 2, "ms": 1.0}]
        if message["op"] == "commit" and not commit_ok:
            return {"ok": False, "error": "gave up waiting", "at": time.time(), "plugins": []}
        return {"ok": message["op"] == "commit", "at": time.time(), "plugins": plugins}

    return answer


async def apply_with(tmp_path: Path, answers: list[Callable[[Message], Message]]) -> dict[str, Any]:
    config_path = tmp_path / "plughost.toml"
    config_path.write_text("[server]\nport = 8080\n")
    socket_path = str(tmp_path / "coordinator.sock")
    coordinator = Coordinator(parse_config(config_path.read_text(), config_path), socket_path, 2)
    await coordinator.start()
    opened: list[tuple[Channel, asyncio.Task[None]]] = []
    try:
        for pid, answer in enumerate(answers, start=100):
            opened.append(await worker(socket_path, pid, answer))
        async with asyncio.timeout(10):
            await coordinator.joined.wait()
        return await coordinator.apply(ChangeRequest(everything=True))
    finally:
        for channel, reading in opened:
            await channel.aclose()
            await reading
        await coordinator.stop()


async def test_every_worker_commits(tmp_path: Path) -> None:
    report = await apply_with(tmp_path, [scripted(True), scripted(True)])
    assert report["ok"] is True and report["error"] is None
    assert report["workers"] == [100, 101]


async def test_a_worker_that_did_not_commit_is_a_failure_naming_it(tmp_path: Path) -> None:
    report = await apply_with(tmp_path, [scripted(True), scripted(False)])
    assert report["ok"] is False
    assert report["error"] == "worker 101 did not commit: gave up waiting"


def test_a_prepared_worker_outwaits_the_slowest_prepare() -> None:
    assert DECISION_TIMEOUT > PREPARE_TIMEOUT


async def test_a_refused_prepare_aborts_every_worker(tmp_path: Path) -> None:
    decided: list[str] = []

    def refusing(message: Message) -> Message:
        if message["op"] == "prepare":
            return {"ok": False, "error": None, "failures": {"hello": "setup() raised"}}
        decided.append(message["op"])
        return {"ok": False, "at": time.time(), "plugins": []}

    def preparing(message: Message) -> Message:
        if message["op"] != "prepare":
            decided.append(message["op"])
        return scripted(True)(message)

    report = await apply_with(tmp_path, [preparing, refusing])
    assert report["ok"] is False
    assert decided == ["abort", "abort"]
    assert "setup() raised" in str(report)
