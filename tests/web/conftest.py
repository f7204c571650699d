"""A web server over a real repository's state files, a real HTTP client, and a real headless Chromium."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from coffee_maker.config import load_config
from coffee_maker.testing.waiting import wait_until
from coffee_maker.web.server import WebServer

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,900")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class Client:
    """http.client against the page, with or without the token; remembers the cookie like a browser."""

    base: str
    cookie: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        parts = urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        sent = {**self.extra, **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read().decode("utf-8", "replace"))
        conn.close()
        return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict[str, str], **kw: Any) -> Reply:
        return self.request("POST", path, form=form, **kw)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "ROADMAP.md").write_text(
        "# Roadmap\n\n## PRIORITY 1: First\n\n**Status**: ✅ Complete\n\n"
        "## PRIORITY 2: Second\n\n**Status**: 📝 Planned\n**Dependencies**: PRIORITY 1\n\n- [ ] one\n\n"
        "## PRIORITY 3: Third\n\n**Status**: 📝 Planned\n**Dependencies**: PRIORITY 2\n")
    (project / "coffee_maker.toml").write_text('[web]\nport = 0\nperson = "Ada"\n')
    return project


@pytest.fixture
def server(repo: Path) -> Iterator[WebServer]:
    web = WebServer(load_config(repo))
    assert web.start() is not None
    yield web
    web.close()


@pytest.fixture
def anonymous(server: WebServer) -> Client:
    assert server.url is not None
    return Client(server.url.split("?")[0])


@pytest.fixture
def client(server: WebServer, anonymous: Client) -> Client:
    """Logged in the way a person is: the printed URL once, the cookie afterwards."""
    assert server.url is not None
    first = anonymous.get("/?" + server.url.split("?", 1)[1])
    assert first.status == 303, first.text
    return Client(anonymous.base, cookie=first.headers["set-cookie"].split(";")[0])


def csrf_of(page: str) -> str:
    marker = 'name="csrf" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


# ---------------------------------------------------------------------- the real browser

def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture
def chromium() -> tuple[str, str]:
    """Debian's chromium and chromium-driver: skipped locally when missing, a failure under CI=true."""
    found = _chromium()
    if found is None:
        message = ("chromium and chromedriver are not installed: `make sys-deps` (as root) or "
                   "`apt-get install chromium chromium-driver`")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("selenium is missing: install the dev extra (`pip install -e '.[dev]'`)")
    return found


@pytest.fixture
def new_browser(chromium: tuple[str, str], tmp_path: Path) -> Iterator[Any]:
    """Start headless Chromium sessions (``javascript=False`` for the plain-forms path); all quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers: list[Any] = []

    def start(*, javascript: bool = True, width: int = 1280, height: int = 900) -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium[0]
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp_path / f'chromium-profile-{len(drivers)}'}")
        if not javascript:
            options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
        driver = webdriver.Chrome(service=Service(executable_path=chromium[1]), options=options)
        driver.set_page_load_timeout(30)
        driver.set_window_size(width, height)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


@pytest.fixture
def browser(new_browser: Any) -> Any:
    return new_browser()


# ---------------------------------------------------------------------- a real daemon

@dataclass
class RunningDaemon:
    project: Path
    process: subprocess.Popen[Any]
    url: str

    def stop(self, timeout_s: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)


def page_text(browser: Any, element_id: str) -> str:
    """The text of one element, or "" while the page is between documents (a form POST navigating)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    try:
        return str(browser.find_element("id", element_id).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def start_daemon(project: Path, **popen: Any) -> RunningDaemon:
    """`coffee-maker run` as a subprocess; the URL from the state directory once the page listens."""
    from coffee_maker.config import StateLayout
    from coffee_maker.web._token import read_info, read_token

    env = {**os.environ, "COFFEE_MAKER_WEB__PORT": "0"}
    process = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(project)],
                               env=env, **{"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                                           "stderr": subprocess.DEVNULL, **popen})
    state = StateLayout(project / ".coffee_maker")

    def listening() -> str | None:
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited early with {process.returncode}")
        info = read_info(state)
        token = read_token(state)
        return f"{info['url']}?token={token}" if info and token and info.get("pid") == process.pid else None

    return RunningDaemon(project, process, wait_until(listening, timeout_s=60, what="the web page to listen"))
