"""Live status for ``plugins list``: which servers are asked, and what is believed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from plughost.cli.status import fetch_status, server_url, status_address
from plughost.config import Config, ServerConfig


def config_for(host: str, port: int, path: Path = Path("/site/plughost.toml")) -> Config:
    return Config(path=path, server=ServerConfig(host=host, port=port))


@pytest.mark.parametrize(
    ("bind", "asked"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
        ("0.0.0.0", "127.0.0.1"),
        ("", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("::", "::1"),
        ("::1", "::1"),
        ("192.0.2.10", None),
        ("example.com", None),
    ],
)
def test_only_loopback_servers_are_asked(bind: str, asked: str | None) -> None:
    address = status_address(config_for(bind, 8080))
    assert (address[0] if address else None) == asked


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080/hello"),
        ("0.0.0.0", "http://127.0.0.1:8080/hello"),
        ("::", "http://[::1]:8080/hello"),
        ("localhost", "http://localhost:8080/hello"),
        ("192.0.2.10", "http://192.0.2.10:8080/hello"),
    ],
)
def test_server_url(bind: str, url: str) -> None:
    assert server_url(config_for(bind, 8080), "/hello") == url


@pytest.fixture
def answering() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server that answers each connection with the next canned response."""
    responses: list[bytes] = []
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                connection.recv(65536)
                connection.sendall(responses.pop(0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], responses
    stop.set()
    thread.join(timeout=5)
    listener.close()


def response(status: str, body: object) -> bytes:
    data = json.dumps(body).encode()
    return f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\r\n".encode() + data


STATE = {"state": "loaded", "version": 2, "loaded_at": 1.0, "error": None}


def test_status_from_a_running_server(answering: tuple[int, list[bytes]]) -> None:
    port, responses = answering
    responses.append(response("200 OK", {"plugins": {"hello": STATE, "bad": "x"}}))
    assert fetch_status(config_for("127.0.0.1", port)) == {"hello": STATE}


def test_a_server_for_another_config_is_ignored(answering: tuple[int, list[bytes]]) -> None:
    port, responses = answering
    body = {"config": "/elsewhere/plughost.toml", "plugins": {"hello": STATE}}
    responses.append(response("200 OK", body))
    assert fetch_status(config_for("127.0.0.1", port)) is None
    responses.append(response("200 OK", {**body, "config": "/site/plughost.toml"}))
    assert fetch_status(config_for("127.0.0.1", port)) == {"hello": STATE}


@pytest.mark.parametrize(
    "raw",
    [
        response("403 Forbidden", {"error": "loopback only"}),
        response("200 OK", ["not", "an", "object"]),
        b"HTTP/1.1 200 OK\r\n\r\n{not json",
        b"garbage",
    ],
)
def test_anything_else_is_no_status(answering: tuple[int, list[bytes]], raw: bytes) -> None:
    port, responses = answering
    responses.append(raw)
    assert fetch_status(config_for("127.0.0.1", port)) is None


def test_nothing_listening() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert fetch_status(config_for("127.0.0.1", port)) is None
