"""Request timing in start_request and end_request, as module-level hook functions.

Every response gets a ``Server-Timing`` header; ``GET /stats`` answers how many
requests ended with each status.
"""

import time
from collections import Counter

import plughost

ended: Counter[int] = Counter()


def start_request(context):
    context.state["timing.started"] = time.perf_counter()


def process_response(context):
    # process_response may change the response; end_request may only read it.
    elapsed = (time.perf_counter() - context.state["timing.started"]) * 1000
    context.response.headers["Server-Timing"] = f"app;dur={elapsed:.2f}"


def end_request(context):
    ended[context.response.status] += 1


@plughost.route("/stats")
async def stats():
    return {"requests": {str(status): count for status, count in sorted(ended.items())}}
