"""A background task started by one request and read by a later one.

``GET /sysinfo`` starts measuring network rates and answers at once with the
task's id; ``GET /sysinfo?task=ID`` answers the task's state and, once it is
done, the rates. Task results live in the host, so they stay readable when this
plugin is reloaded.
"""

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from plughost import BasePlugin, NotFound

NET_DEV = Path("/proc/net/dev")


@dataclass
class Params:
    seconds: float = 1.0  # how long one measurement samples


def read_counters() -> dict[str, tuple[int, int]]:
    """Bytes received and sent so far, per network interface (Linux; empty elsewhere)."""
    if not NET_DEV.exists():
        return {}
    counters = {}
    for line in NET_DEV.read_text().splitlines()[2:]:
        name, _, fields = line.partition(":")
        values = fields.split()
        counters[name.strip()] = (int(values[0]), int(values[8]))
    return counters


async def measure(seconds: float) -> dict[str, object]:
    before, started = read_counters(), time.monotonic()
    await asyncio.sleep(seconds)
    after, elapsed = read_counters(), time.monotonic() - started
    rates = {
        name: {
            "rx_bytes_per_s": round((after[name][0] - received) / elapsed, 1),
            "tx_bytes_per_s": round((after[name][1] - sent) / elapsed, 1),
        }
        for name, (received, sent) in before.items()
        if name in after
    }
    return {"seconds": round(elapsed, 3), "interfaces": rates}


class SysInfo(BasePlugin):
    async def request_handler(self, **args):
        task_id = args.get("task")
        if task_id is None:
            # Routes answer at once; the measurement runs in the background.
            return {"task": self.tasks.start(measure, self.params.seconds)}
        info = self.tasks.get(task_id)
        if info is None:
            raise NotFound(f"no task {task_id!r}")
        return info.as_dict()
