"""``plughost reload``: ask a running server to apply what is on disk, and say what happened."""

from __future__ import annotations

import http.client
import json
from typing import Any

from ..config import Config
from ..errors import PlughostError
from ..urls import RELOAD_PATH
from .console import info, styled, warn
from .status import server_url, status_address

__all__ = ["print_report", "request_reload"]


def request_reload(config: Config, *, port: int | None, timeout: float) -> dict[str, Any]:
    """POST the reload request to the server running ``config``; its report.

    Raises:
        PlughostError: no server answers, or another project's server does.
    """
    address = status_address(config)
    if address is None:
        raise PlughostError(
            f"server.host {config.server.host!r} is not a loopback address; "
            "plughost reload asks the server over loopback",
            hint="run plughost reload on the server's machine, with server.host on loopback",
        )
    host, default_port = address
    port = port or default_port
    url = server_url(config, RELOAD_PATH).replace(f":{default_port}", f":{port}")
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Accept": "application/json", "X-Plughost-Reload": "1"}
        connection.request("POST", RELOAD_PATH, headers=headers)
        response = connection.getresponse()
        body = response.read()
    except OSError as error:
        raise PlughostError(
            f"no plughost server answers at {url}: {error}",
            hint="start one with plughost run, or give its --port",
        ) from None
    finally:
        connection.close()
    try:
        report: dict[str, Any] = json.loads(body)
    except ValueError:
        report = {}
    if response.status != 200 or "plugins" not in report:
        raise PlughostError(f"{url} answered {response.status}: {body[:200]!r}")
    served = report.get("config")
    if served is not None and served != str(config.path):
        raise PlughostError(
            f"the server at {url} serves {served}, not {config.path}",
            hint="give plughost reload that project's --config, or the right --port",
        )
    return report


_STYLES = {"reloaded": "green", "loaded": "green", "unloaded": "yellow", "missing": "yellow"}


def print_report(report: dict[str, Any]) -> bool:
    """One line per plugin, then the workers; True when everything applied."""
    if report.get("error"):
        warn(str(report["error"]))
    for item in report["plugins"]:
        outcome = item["outcome"]
        line = f"{styled(outcome, _STYLES.get(outcome, 'red'))} {item['name']}"
        if item.get("version") and outcome in ("reloaded", "loaded"):
            line += f" (version {item['version']}, {item['ms']} ms)"
        if item.get("error"):
            where = f"worker {item['worker']}: " if item.get("worker") else ""
            error = item["error"].splitlines()[0].removeprefix("not applied: ")
            line += f": {where}{error}"
        info(line)
    if not report["plugins"] and not report.get("error"):
        info("unchanged: every plugin serves what is on disk")
    workers = report.get("workers") or []
    if len(workers) > 1:
        skew = report.get("skew_ms")
        tail = f"; commits {skew} ms apart" if skew is not None and report["plugins"] else ""
        info(f"{len(workers)} workers ({', '.join(str(p) for p in workers)}){tail}")
    return bool(report.get("ok"))
