"""A wrapper plugin: counts calls and times every endpoint it wraps."""

import time

import plughost


class Timing:
    name = "timing"
    api = 2

    def __init__(self):
        self.calls = 0
        self.total_ms = 0.0

    def apply(self, callback, route):
        async def timed(**kwargs):
            started = time.perf_counter()
            try:
                return await callback(**kwargs)
            finally:
                self.calls += 1
                self.total_ms += (time.perf_counter() - started) * 1000

        return timed


timing = Timing()


def setup(host):
    host.install(timing)


@plughost.route("/timing/stats", skip=["timing"])
async def stats():
    mean = timing.total_ms / timing.calls if timing.calls else 0.0
    return {"calls": timing.calls, "mean_ms": round(mean, 3)}
