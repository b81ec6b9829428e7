"""Live page latency: from a file write to the new version on an open /_plughost/ page.

Usage::

    python bench/live_page.py               # 20 edits
    python bench/live_page.py --edits 50

Starts ``plughost run --reload`` on a generated project (one plugin) in a temporary
folder, on a free 127.0.0.1 port, and opens ``/_plughost/`` in headless Chromium
(Debian's ``chromium`` and ``chromium-driver``, driven by selenium, with the flags the
browser test uses). Each edit rewrites the plugin with the next version number and
measures the time until the open page shows it (polled in the page every 5 ms), without
the page reloading. Reported: median, p95 and max over the edits, beside the server's
own load time for the same edits (``load_ms`` from ``/_plughost/status``), so the rest
is the watcher's batching, the event, the page's fetch and its swap. Edits are 0.5 s
apart; the whole run is bounded by ``--max-seconds``; the server and the browser stop
at the end, on an error, or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

PLUGIN = """\
import plughost


@plughost.route("/edited")
async def edited():
    return {"version": VERSION}


VERSION = 1
"""

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

WAIT_FOR_VERSION = """
const [wanted, limit, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const start = performance.now();
(function poll() {
  const shown = document.querySelector("#plugin-edited .version");
  if (shown && shown.textContent === wanted) done(true);
  else if (performance.now() - start > limit) done(false);
  else setTimeout(poll, 5);
})();
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=180)
    arguments = parser.parse_args()
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        print("needs chromium and chromium-driver: apt-get install chromium chromium-driver")
        return 2
    deadline = time.monotonic() + arguments.max_seconds
    with tempfile.TemporaryDirectory(prefix="plughost-live-page-") as folder:
        root = Path(folder)
        (root / "plugins").mkdir()
        plugin = root / "plugins" / "edited.py"
        plugin.write_text(PLUGIN)
        port = free_port()
        (root / "plughost.toml").write_text(
            f'[server]\nhost = "127.0.0.1"\nport = {port}\naccess_log = false\n\n'
            "[plugins.edited]\nenabled = true\n"
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "plughost", "--config", str(root / "plughost.toml")]
            + ["run", "--reload"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*FLAGS, f"--user-data-dir={root / 'profile'}"):
            options.add_argument(flag)
        browser = None
        try:
            url = f"http://127.0.0.1:{port}"
            while True:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start")
                try:
                    urllib.request.urlopen(url + "/_plughost/status", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            browser = webdriver.Chrome(options=options, service=Service(chromedriver))
            browser.set_script_timeout(30)
            browser.get(url + "/_plughost/")
            while not browser.find_elements("css selector", "#connection[data-live='yes']"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the page never connected")
                time.sleep(0.05)
            browser.execute_script("window.sameDocument = true")
            shown: list[float] = []
            loads: list[float] = []
            for version in range(2, arguments.edits + 2):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"--max-seconds passed after {len(shown)} edits")
                time.sleep(0.5)
                started = time.perf_counter()
                plugin.write_text(PLUGIN.replace("VERSION = 1", f"VERSION = {version}"))
                if not browser.execute_async_script(WAIT_FOR_VERSION, f"v{version}", 20000):
                    raise RuntimeError(f"the page never showed v{version}")
                shown.append((time.perf_counter() - started) * 1000)
                with urllib.request.urlopen(url + "/_plughost/status", timeout=5) as response:
                    loads.append(json.load(response)["plugins"]["edited"]["load_ms"])
            if not browser.execute_script("return window.sameDocument === true"):
                raise RuntimeError("the page reloaded instead of updating")
        finally:
            if browser is not None:
                browser.quit()
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    print(f"| {len(shown)} edits | median | p95 | max |")
    print("|---|---|---|---|")
    for name, values in (("write -> shown on the page", shown), ("server load_ms", loads)):
        print(
            f"| {name} | {statistics.median(values):.1f} ms | "
            f"{percentile(values, 0.95):.1f} ms | {max(values):.1f} ms |"
        )
    print(f"\ncommand: python bench/live_page.py --edits {arguments.edits}; {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
