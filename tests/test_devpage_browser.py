"""The live page in a real browser: headless Chromium against ``plughost run --reload``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them).
Without them the test is skipped, except in CI (``CI=true``), where it must run.

``PLUGHOST_SCREENSHOT=docs/images/live-page-error.png`` also saves the page with
a failed edit on it: that is how the screenshot in docs/live-page.md is made.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import plughost

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must run the browser test: install chromium and chromium-driver")
    pytest.skip("needs chromium and chromium-driver", allow_module_level=True)

from selenium import webdriver  # noqa: E402 - only once the browser is known to be there
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

REPOSITORY = Path(plughost.__file__).resolve().parents[1]
#: seconds to wait for anything the page or the server should do
PATIENCE = 30

HELLO = """\
import plughost


@plughost.route("/hello")
async def hello():
    return {"version": VERSION}


VERSION = 1
"""

BROKEN = """\
import plughost


@plughost.route("/hello")
async def hello(:
    return {"version": 3}
"""

SITE = """\
from aiohttp import web
import plughost

WORD = "one"


@plughost.route("/site")
async def site():
    return web.Response(
        content_type="text/html",
        text=f'''<!doctype html><html lang="en"><title>site</title>
<p id="word">{WORD}</p>
<script src="/_plughost/static/livereload.js" data-plugin="site"></script>''',
    )
"""

CONFIG = """\
[server]
host = "127.0.0.1"
port = {port}

[plugins.hello]
enabled = true

[plugins.hello.params]
greeting = "Hello"
api_token = "not-for-the-page"

[plugins.site]
enabled = true

[plugins.idle]
enabled = false
"""


def hello(version: int) -> str:
    return HELLO.replace("VERSION = 1", f"VERSION = {version}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


class Server:
    """``plughost run --reload`` in a subprocess, started and stopped on demand."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None
        self.output = root / "server.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PLUGHOST_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")]))
        with self.output.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from plughost.cli.commands import main; main()"]
                + ["--config", str(self.root / "plughost.toml"), "run", "--reload"],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited:\n{self.output.read_text()}")
            try:
                get_json(self.url + "/_plughost/status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        pytest.fail(f"the server did not answer within {PATIENCE} s:\n{self.output.read_text()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=PATIENCE)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "hello.py").write_text(hello(1))
    (plugins / "site.py").write_text(SITE)
    (plugins / "idle.py").write_text(hello(1))
    port = free_port()
    (tmp_path / "plughost.toml").write_text(CONFIG.format(port=port))
    running = Server(tmp_path, port)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1100,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(PATIENCE)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], Any], what: str) -> Any:
    return WebDriverWait(driver, PATIENCE, poll_frequency=0.1).until(
        condition, message=f"the page never showed {what}"
    )


def text_of(driver: webdriver.Chrome, selector: str, attribute: str = "innerText") -> str:
    """The element's text (or another property), read in one step: the page may swap it."""
    script = "const e = document.querySelector(arguments[0]); return e ? e[arguments[1]] : ''"
    return str(driver.execute_script(script, selector, attribute) or "").strip()


def live(driver: webdriver.Chrome) -> bool:
    found = driver.find_elements(By.CSS_SELECTOR, "#connection[data-live='yes']")
    return bool(found)


def same_document(driver: webdriver.Chrome) -> bool:
    return bool(driver.execute_script("return window.sameDocument === true"))


@pytest.mark.timeout(300)
def test_live_page_follows_edits_failures_and_restarts(
    server: Server, browser: webdriver.Chrome
) -> None:
    plugin = server.root / "plugins" / "hello.py"
    browser.get(server.url + "/_plughost/")
    wait(browser, live, "its live connection")
    names = browser.execute_script(
        "return [...document.querySelectorAll('.plugin .name')].map(e => e.textContent)"
    )
    assert names == ["hello", "site", "idle"]
    assert text_of(browser, "#plugin-hello .version") == "v1"
    assert "disabled" in text_of(browser, "#plugin-idle .state")
    assert 'greeting = "Hello"' in text_of(browser, "#plugin-hello .params")
    assert "not-for-the-page" not in browser.page_source
    browser.execute_script("window.sameDocument = true")

    plugin.write_text(hello(2))
    wait(browser, lambda d: text_of(d, "#plugin-hello .version") == "v2", "v2")
    assert same_document(browser), "the page was reloaded instead of updated"

    plugin.write_text(BROKEN)
    failure = wait(browser, lambda d: text_of(d, "#plugin-hello .failure"), "the failed edit")
    assert "plugins/hello.py:5" in failure
    assert text_of(browser, "#plugin-hello .where code", "title") == f"{plugin}:5"
    assert "SyntaxError" in failure
    assert "version 2 keeps serving" in failure
    assert "async def hello(:" in failure
    assert text_of(browser, "#plugin-hello .version") == "v2"
    assert get_json(server.url + "/hello") == {"version": 2}
    assert "edit refused" in text_of(browser, ".history tbody tr:first-child")
    assert same_document(browser)
    _screenshot(browser)
    _usable_on_a_phone(browser)
    _basic_accessibility(browser)

    plugin.write_text(hello(3))
    wait(browser, lambda d: text_of(d, "#plugin-hello .version") == "v3", "v3")
    assert not browser.find_elements(By.CSS_SELECTOR, "#plugin-hello .failure")
    assert get_json(server.url + "/hello") == {"version": 3}
    assert same_document(browser)

    server.stop()
    wait(browser, lambda d: not live(d), "that the server went away")
    server.start()
    wait(browser, live, "the connection again after the restart")
    wait(browser, lambda d: text_of(d, "#plugin-hello .version") == "v1", "the new server's v1")
    plugin.write_text(hello(4))
    wait(browser, lambda d: text_of(d, "#plugin-hello .version") == "v2", "an edit after restart")
    assert same_document(browser)


@pytest.mark.timeout(300)
def test_livereload_script_refreshes_a_plugin_page(
    server: Server, browser: webdriver.Chrome
) -> None:
    browser.get(server.url + "/site")
    assert text_of(browser, "#word") == "one"
    wait(
        browser,
        lambda d: d.execute_script("return document.documentElement.dataset.livereload"),
        "the livereload script connected",
    )
    browser.execute_script("window.sameDocument = true")
    site = server.root / "plugins" / "site.py"
    site.write_text(SITE.replace('WORD = "one"', 'WORD = "two"'))
    wait(browser, lambda d: text_of(d, "#word") == "two", "the edited plugin's page")
    assert not same_document(browser)


def test_without_javascript_the_page_still_shows_everything(server: Server, tmp_path: Path) -> None:
    with urllib.request.urlopen(server.url + "/_plughost/", timeout=5) as response:
        html = response.read().decode()
    assert '<span class="version" data-version="1">v1</span>' in html
    assert "Reload the page to update." in html


def _usable_on_a_phone(driver: webdriver.Chrome) -> None:
    """At 360 px wide nothing overflows sideways, and the keyboard reaches the plugins."""
    # A headless window is never narrower than 500 px: emulate the phone's screen instead.
    phone = {"width": 360, "height": 800, "deviceScaleFactor": 2, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
    try:
        assert driver.execute_script("return window.innerWidth") == 360
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"the page is {overflow} px wider than a phone"
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        assert driver.switch_to.active_element.text == "Skip to the plugins"
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        assert driver.switch_to.active_element.get_attribute("id") == "plugins-title"
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _basic_accessibility(driver: webdriver.Chrome) -> None:
    """A language, unique ids, headings that never skip a level, named scrollable blocks."""
    problems = driver.execute_script(
        """
        const problems = [];
        if (!document.documentElement.lang) problems.push("no lang");
        const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
        if (new Set(ids).size !== ids.length) problems.push("duplicate ids");
        let level = 0;
        for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
          const next = Number(h.tagName[1]);
          if (next > level + 1) problems.push(`${h.tagName} after h${level}: ${h.textContent}`);
          level = next;
        }
        for (const e of document.querySelectorAll("[tabindex='0']")) {
          if (!e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby")) {
            problems.push(`unnamed focusable ${e.tagName}.${e.className}`);
          }
        }
        return problems;
        """
    )
    assert problems == []


def _screenshot(driver: webdriver.Chrome) -> None:
    target = os.environ.get("PLUGHOST_SCREENSHOT")
    if target:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1000, min(height + 120, 2000))
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(target)
        driver.set_window_size(1100, 1000)
