"""Where a server is reached: the one place that builds a server's URL and names its paths."""

from __future__ import annotations

from typing import Final

__all__ = [
    "EVENTS_PATH",
    "HOST_PATHS",
    "PAGE_PATH",
    "RELOAD_PATH",
    "STATIC_PATH",
    "STATUS_PATH",
    "WILDCARDS",
    "server_url",
]

#: where the host's own pages live; plugins cannot claim them, and CORS never shares them
HOST_PATHS: Final = "/_plughost"
#: the host's own status endpoint
STATUS_PATH: Final = "/_plughost/status"
#: the live page in the browser, and what it reads
PAGE_PATH: Final = "/_plughost/"
EVENTS_PATH: Final = "/_plughost/events"
STATIC_PATH: Final = "/_plughost/static/"
#: ``plughost reload`` posts here: apply the files and plughost.toml on disk, all or nothing
RELOAD_PATH: Final = "/_plughost/reload"
#: what a client dials for a server bound to every address
WILDCARDS: Final = {
    "": "127.0.0.1",
    "0.0.0.0": "127.0.0.1",
    "::": "::1",
}


def server_url(bind: str, port: int, path: str = "") -> str:
    """The URL a person opens to reach ``path`` on a server bound to ``bind``:``port``.

    >>> server_url("0.0.0.0", 8080, "/hello")
    'http://127.0.0.1:8080/hello'
    """
    host = WILDCARDS.get(bind, bind)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"
