"""Ask a running server for its plugins' live status, without an HTTP library.

``plughost plugins list`` tries this on every call, so it must cost nothing
when no server runs (connection refused is immediate) and little when one
does: a raw HTTP/1.0 request over a socket with a short timeout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

from .. import urls
from ..config import Config
from ..urls import STATUS_PATH

__all__ = ["STATUS_PATH", "TIMEOUT", "fetch_status", "server_url", "status_address"]

#: seconds to wait for a server before showing the plugins without live status
TIMEOUT: Final = 0.3
_LIMIT: Final = 4 * 1024 * 1024


def server_url(config: Config, path: str = "") -> str:
    """The URL a person opens to reach ``path`` on a server running ``config``."""
    return urls.server_url(config.server.host, config.server.port, path)


def status_address(config: Config) -> tuple[str, int] | None:
    """Where a server for ``config`` would answer the status request, if it would.

    The status endpoint answers loopback clients only, so a server bound to
    another address is not asked.
    """
    import ipaddress

    bind = config.server.host
    host = urls.WILDCARDS.get(bind, "127.0.0.1" if bind == "localhost" else bind)
    try:
        if not ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        return None
    return host, config.server.port


def fetch_status(
    config: Config, *, timeout: float = TIMEOUT
) -> dict[str, Mapping[str, Any]] | None:
    """Each plugin's status from a server running ``config``, or None when none answers."""
    address = status_address(config)
    if address is None:
        return None
    host, port = address
    deadline = time.monotonic() + timeout
    request = (
        f"GET {STATUS_PATH} HTTP/1.0\r\nHost: {f'[{host}]' if ':' in host else host}:{port}\r\n"
        "Accept: application/json\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    # The C socket module and an address literal: importing ``socket`` (with
    # selectors and array) and resolving a name through the IDNA codec cost
    # more than the request itself, on every ``plugins list``.
    import _socket

    family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
    connection = _socket.socket(family, _socket.SOCK_STREAM)
    chunks: list[bytes] = []
    try:
        connection.settimeout(timeout)
        connection.connect((host, port))
        connection.sendall(request)
        size = 0
        while size < _LIMIT:
            connection.settimeout(max(deadline - time.monotonic(), 0.001))
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:
        return None
    finally:
        connection.close()
    return _parse(b"".join(chunks), config)


def _parse(response: bytes, config: Config) -> dict[str, Mapping[str, Any]] | None:
    import json

    head, _, body = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or status_line[1] != b"200":
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("plugins"), dict):
        return None
    served = payload.get("config")
    if served is not None and served != str(config.path):
        return None
    return {
        name: value
        for name, value in payload["plugins"].items()
        if isinstance(name, str) and isinstance(value, dict)
    }
