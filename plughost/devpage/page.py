"""The live page's HTML, rendered on the server from the status endpoint's data.

The page is complete without JavaScript. With it, ``static/page.js`` fetches
the page again after each event and swaps in its ``<main>``, so there is one
renderer, here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any, Final

from ..urls import EVENTS_PATH, PAGE_PATH, STATIC_PATH
from .events import ReloadEvent

__all__ = ["render_page"]

_STATE_TEXT: Final = {
    "loaded": "loaded",
    "error": "failed",
    "disabled": "disabled",
    "missing": "missing",
}
_OUTCOME_TEXT: Final = {
    "loaded": "loaded",
    "reloaded": "reloaded",
    "refused": "edit refused",
    "failed": "failed",
    "disabled": "disabled",
    "missing": "file missing",
}


def render_page(document: Mapping[str, Any], history: Iterable[ReloadEvent]) -> str:
    """The whole page for a status document (:func:`plughost.request.status.status_document`)."""
    plugins: Mapping[str, Mapping[str, Any]] = document["plugins"]
    failing = sum(1 for p in plugins.values() if p.get("error"))
    title = f"plughost: {_count(len(plugins), 'plugin')}"
    if failing:
        title += f", {_count(failing, 'error')}"
    project = os.path.dirname(str(document.get("config", ""))) + os.sep
    cards = "\n".join(_plugin(name, plugin, project) for name, plugin in plugins.items())
    if not cards:
        cards = '<p class="empty">No plugins in the config yet.</p>'
    return f"""<!doctype html>
<html lang="en" data-events="{EVENTS_PATH}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{STATIC_PATH}page.css">
<script src="{STATIC_PATH}page.js" defer></script>
</head>
<body>
<a class="skip" href="#plugins-title">Skip to the plugins</a>
<header class="top">
<h1><a href="{PAGE_PATH}">plughost</a></h1>
<p class="config">Serving <code>{escape(str(document.get("config", "")))}</code></p>
<p id="connection" class="connection" role="status">State at {_clock(time.time())}.
Reload the page to update.</p>
</header>
<main id="content">
<h2 id="plugins-title" tabindex="-1">Plugins</h2>
<div class="plugins">
{cards}
</div>
{_history(list(history))}
</main>
<div id="announce" class="visually-hidden" aria-live="polite"></div>
</body>
</html>
"""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _clock(at: float) -> str:
    stamp = time.localtime(at)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S%z", stamp)
    full = time.strftime("%Y-%m-%d %H:%M:%S", stamp)
    return f'<time datetime="{iso}" title="{full}">{time.strftime("%H:%M:%S", stamp)}</time>'


def _ms(value: object) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def _plugin(name: str, plugin: Mapping[str, Any], project: str) -> str:
    anchor = f"plugin-{escape(name)}"
    state = str(plugin.get("state"))
    version = plugin.get("version") or 0
    shown_state = "edit refused" if state == "loaded" and plugin.get("error") else state
    loaded_at = plugin.get("loaded_at")
    loaded = _clock(loaded_at) if isinstance(loaded_at, int | float) else "—"
    return f"""<article class="plugin" id="{anchor}" data-state="{escape(state)}"
 aria-labelledby="{anchor}-title">
<h3 id="{anchor}-title"><span class="name">{escape(name)}</span>
<span class="state state-{escape(state)}">{escape(_STATE_TEXT.get(state, state))}</span>
<span class="version" data-version="{version}">{f"v{version}" if version else "no version"}</span>
</h3>
<dl class="facts">
<div><dt>Routes</dt><dd>{_routes(plugin.get("routes") or [])}</dd></div>
<div><dt>Params</dt><dd>{_params(plugin.get("params") or {})}</dd></div>
<div><dt>Loaded</dt><dd>{loaded}</dd></div>
<div><dt>Last load took</dt><dd>{_ms(plugin.get("load_ms"))}</dd></div>
{_workers(plugin.get("workers") or {}, bool(plugin.get("mismatch")))}</dl>
{_failure(anchor, shown_state, version, plugin, project) if plugin.get("error") else ""}
</article>"""


def _workers(workers: Mapping[str, Mapping[str, Any]], mismatch: bool) -> str:
    """With several workers: the version and state each serves, and whether they differ."""
    if len(workers) < 2:
        return ""
    items = []
    for pid, worker in workers.items():
        version = worker.get("version") or 0
        shown = f"v{version}" if version else "no version"
        items.append(f"<li>pid {escape(pid)}: {shown}, {escape(str(worker.get('state')))}</li>")
    warning = '<p class="mismatch">The workers do not all serve the same version.</p>'
    return (
        f'<div><dt>Workers</dt><dd><ul class="workers">{"".join(items)}</ul>'
        f"{warning if mismatch else ''}</dd></div>\n"
    )


def _routes(routes: Sequence[Mapping[str, str]]) -> str:
    if not routes:
        return "none"
    items = []
    for route in routes:
        text = f"<code>{escape(route['method'])} {escape(route['rule'])}</code>"
        if route["method"] == "GET" and "{" not in route["rule"]:
            text = f'<a href="{escape(route["rule"])}">{text}</a>'
        items.append(f"<li>{text}</li>")
    return f'<ul class="routes">{"".join(items)}</ul>'


def _params(params: Mapping[str, object]) -> str:
    if not params:
        return "none"
    items = "".join(
        f"<li><code>{escape(key)} = {escape(_value(value))}</code></li>"
        for key, value in params.items()
    )
    return f'<ul class="params">{items}</ul>'


def _value(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _failure(
    anchor: str, shown_state: str, version: int, plugin: Mapping[str, Any], project: str
) -> str:
    """The failed load: paths are shown relative to the project's folder, in full on hover."""
    failure: Mapping[str, Any] = plugin.get("failure") or {"message": plugin.get("error")}
    if shown_state == "edit refused":
        heading = f"The last edit failed: version {version} keeps serving"
    elif shown_state == "missing":
        heading = "The plugin's file is missing: nothing serving"
    else:
        heading = "Failed to load: nothing serving"
    where = ""
    if failure.get("path"):
        full = str(failure["path"])
        location = full.removeprefix(project)
        if failure.get("line"):
            full += f":{failure['line']}"
            location += f":{failure['line']}"
        where = f'<p class="where"><code title="{escape(full)}">{escape(location)}</code></p>'
    source = ""
    if failure.get("source"):
        lines = []
        for item in failure["source"]:
            number, text = item["line"], escape(item["text"])
            line = f'<span class="number">{number}</span>{text}'
            if number == failure.get("line"):
                line = f'<mark aria-label="line {number}, where it failed">{line}</mark>'
            lines.append(line)
        source = (
            f'<pre class="source" tabindex="0" aria-label="Source around line {failure["line"]}">'
            f"<code>{chr(10).join(lines)}</code></pre>"
        )
    traceback = ""
    if failure.get("traceback"):
        traceback = (
            f'<pre class="traceback" tabindex="0" aria-label="Traceback">'
            f"{escape(failure['traceback'].replace(project, ''))}</pre>"
        )
    return f"""<section class="failure" aria-labelledby="{anchor}-failure">
<h4 id="{anchor}-failure">{escape(heading)}</h4>
{where}<p class="message">{escape(str(failure.get("message") or ""))}</p>
{source}{traceback}</section>"""


def _history(events: list[ReloadEvent]) -> str:
    if not events:
        rows = '<tr><td colspan="5">Nothing yet.</td></tr>'
    else:
        rows = "\n".join(_event_row(event) for event in reversed(events))
    return f"""<section class="history" aria-labelledby="history-title">
<h2 id="history-title">Reload history</h2>
<p class="hint">The last {len(events)} of at most 50 events, newest first.</p>
<div class="scroll" role="region" aria-labelledby="history-title" tabindex="0">
<table>
<thead><tr><th scope="col">Time</th><th scope="col">Plugin</th><th scope="col">Outcome</th>
<th scope="col">Version</th><th scope="col">Took</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</div>
</section>"""


def _event_row(event: ReloadEvent) -> str:
    outcome = _OUTCOME_TEXT[event.outcome]
    title = f' title="{escape(event.error)}"' if event.error else ""
    return (
        f'<tr class="outcome-{event.outcome}"><td>{_clock(event.at)}</td>'
        f'<td><a href="#plugin-{escape(event.plugin)}">{escape(event.plugin)}</a></td>'
        f'<td{title}><span class="outcome">{outcome}</span></td>'
        f"<td>{f'v{event.version}' if event.version else '—'}</td>"
        f"<td>{_ms(event.seconds * 1000 if event.seconds is not None else None)}</td></tr>"
    )
