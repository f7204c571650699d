"""A real daemon, a real headless Chromium: the question appears live, one click answers it, the agent goes on."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo import build_sandbox
from coffee_maker.testing.waiting import wait_until
from tests.web.conftest import RunningDaemon, page_text, start_daemon

QUESTION = "Which API key should I use for the forecast service"
pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    project = build_sandbox(tmp_path / "sandbox")
    with (project / "coffee_maker.toml").open("a") as fh:
        fh.write('\n[web]\nperson = "Ada"\n')
    return project


def _phase(project: Path, priority: str) -> Phase | None:
    db = project / ".coffee_maker" / "state.db"
    if not db.exists():
        return None
    store = StateStore(db)
    state = store.get(priority)
    store.close()
    return state.phase if state else None


def _logged_answer(project: Path) -> dict[str, Any] | None:
    for path in sorted((project / "interaction_logs").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record.get("interaction_type") == "user_response" and QUESTION in record.get("question", ""):
                return dict(record)
    return None


def _open_inbox(browser: Any, daemon: RunningDaemon) -> None:
    from selenium.webdriver.common.by import By

    browser.get(daemon.url)  # the URL `coffee-maker run` prints: sets the cookie, drops the token
    assert "token=" not in browser.current_url
    browser.find_element(By.LINK_TEXT, "Inbox").click()
    wait_until(lambda: browser.current_url.endswith("/inbox"), timeout_s=10, what="the inbox page")


def _click_option(browser: Any, option: str) -> str:
    """Wait (live updates, no reload) for the question, then click its button; returns the question id."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def question_id() -> str | None:
        try:
            found = [a for a in browser.find_elements(By.CSS_SELECTOR, "article.question") if QUESTION in a.text]
            return str(found[0].get_attribute("id")).removeprefix("q-") if found else None
        except StaleElementReferenceException:  # the live update replaced the section meanwhile
            return None

    def click(qid: str) -> bool:
        try:
            browser.find_element(By.XPATH, f"//article[@id='q-{qid}']//button[normalize-space()='{option}']").click()
            return True
        except StaleElementReferenceException:
            return False

    def confirmed(qid: str) -> bool:
        return f"Answered {qid}." in page_text(browser, "main")

    qid = wait_until(question_id, timeout_s=90, what="the escalated question to appear on the page", interval_s=0.1)
    assert "write the forecast summary" in browser.page_source  # the agent's last message, beside the question
    wait_until(lambda: click(qid), timeout_s=10, what="a click on the option")
    wait_until(lambda: confirmed(qid), timeout_s=10, what="the page to confirm the answer")
    return str(qid)


def _text(browser: Any, selector: str) -> str:
    """An element's text, or "" while a live update is replacing it."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return str(browser.find_element(By.CSS_SELECTOR, selector).text)
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


class TestBrowserInbox:
    def test_question_answered_with_one_click_and_the_agent_continues(self, sandbox: Path, browser: Any) -> None:
        """The page shows the daemon's question live; a click answers it; priority 2 reaches its PR."""
        daemon = start_daemon(sandbox)
        try:
            _open_inbox(browser, daemon)
            qid = _click_option(browser, "offline")
            wait_until(lambda: _text(browser, "table.settled") and qid in _text(browser, "table.settled")
                     and "web:Ada" in _text(browser, "table.settled"), timeout_s=10,
                     what="the answer in the recently settled list")
            wait_until(lambda: _phase(sandbox, "PRIORITY 2") is Phase.PR_OPEN, timeout_s=90,
                     what="priority 2 to reach its pull request after the answer")
            record = _logged_answer(sandbox)
            assert record is not None and record["response"] == "offline"
            assert record["response_method"] == "person:web:Ada"
            browser.get(daemon.url.split("?")[0])
            assert "Lane 1" in browser.page_source
        finally:
            assert daemon.stop() == 0  # SIGTERM: the web server's threads never keep the daemon alive

    def test_answer_on_the_page_settles_the_terminal_prompt_too(self, sandbox: Path, browser: Any) -> None:
        """With a terminal prompt also waiting, a web answer wins, the terminal says so, `answer` is refused."""
        config = sandbox / "coffee_maker.toml"
        config.write_text(config.read_text().replace('channels = ["cli"]', 'channels = ["terminal", "cli"]'))
        leader, follower = pty.openpty()
        daemon = start_daemon(sandbox, stdin=follower, stdout=follower, stderr=follower)
        os.close(follower)
        seen = bytearray()

        def terminal_says(text: str) -> bool:
            while select.select([leader], [], [], 0)[0]:
                try:
                    seen.extend(os.read(leader, 65536))
                except OSError:
                    break
            return text in seen.decode("utf-8", "replace")

        try:
            wait_until(lambda: terminal_says(f"dashboard and inbox: {daemon.url}"), timeout_s=30,
                     what="`run` to print the URL with its token on the terminal")
            _open_inbox(browser, daemon)
            wait_until(lambda: terminal_says("answer ["), timeout_s=90, what="the terminal prompt")
            qid = _click_option(browser, "offline")
            wait_until(lambda: terminal_says(f"[{qid}] answered: offline (by web:Ada)"), timeout_s=20,
                     what="the terminal prompt to be settled by the web answer")
            late = subprocess.run([sys.executable, "-m", "coffee_maker", "answer", qid, "FORECAST_API_KEY",
                                   "--repo", str(sandbox)], capture_output=True, text=True, timeout=60)
            assert late.returncode == 2 and "already answered" in late.stdout + late.stderr
            wait_until(lambda: _phase(sandbox, "PRIORITY 2") is Phase.PR_OPEN, timeout_s=90,
                     what="priority 2 to reach its pull request")
        finally:
            code = daemon.stop()
            os.close(leader)
        assert code == 0
