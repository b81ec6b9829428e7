"""A timing wrapper: counts calls and time spent per route, reported at GET /timing."""

import time

import plughost


class Timing:
    name = "timing"
    api = 2

    def __init__(self):
        self.totals = {}

    def apply(self, callback, route):
        # apply() runs once per route and is cached until the route is reset,
        # so the per-route work (the key, the totals) is done here, not per call.
        totals = self.totals.setdefault(f"{route.method} {route.rule}", [0, 0.0])

        async def timed(**kwargs):
            started = time.perf_counter()
            try:
                return await callback(**kwargs)
            finally:
                totals[0] += 1
                totals[1] += (time.perf_counter() - started) * 1000

        return timed


timing = Timing()


def setup(host):
    host.install(timing)


@plughost.route("/timing", skip=["timing"])
async def report():
    return {
        route: {"calls": calls, "mean_ms": round(total / calls, 3)}
        for route, (calls, total) in timing.totals.items()
        if calls
    }
