"""A replaced create_response [single] hook: pretty JSON, and HTML for browsers.

Only the last-registered create_response runs, so this one takes over the
host's own; for output it does not restyle it calls plughost.to_response.
"""

import html
import json

from aiohttp import web

import plughost


def create_response(context):
    output = context.output
    if not isinstance(output, dict | list):
        # Anything but data is answered as plughost's own create_response would.
        context.response = plughost.to_response(output, context.route.plugin)
    elif "text/html" in context.request.headers.get("Accept", ""):
        context.response = web.Response(text=as_html(output), content_type="text/html")
    else:
        text = json.dumps(output, indent=2, sort_keys=True) + "\n"
        context.response = web.Response(text=text, content_type="application/json")


def as_html(output):
    if isinstance(output, dict):
        rows = "".join(
            f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(json.dumps(value))}</td></tr>"
            for key, value in output.items()
        )
        return f"<table>{rows}</table>\n"
    return f"<pre>{html.escape(json.dumps(output, indent=2))}</pre>\n"
