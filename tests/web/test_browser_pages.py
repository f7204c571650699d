"""The pages in a real headless Chromium: answering without JavaScript, by keyboard, on a phone-sized screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coffee_maker.notify.inbox import Inbox
from coffee_maker.testing.waiting import wait_until
from coffee_maker.web.server import WebServer
from tests.web.conftest import page_text

pytestmark = pytest.mark.timeout(120)
_SESSIONS: list[object] = []


def _ask(repo: Path) -> str:
    inbox = Inbox(repo / ".coffee_maker" / "inbox.db")
    session = inbox.open_session()  # the test process plays the daemon waiting for the answer
    _SESSIONS.append(session)
    qid = inbox.add("Allow Bash: make release", kind="permission", options=("yes", "no", "always"),
                    safe_default="no", timeout_s=600, priority="PRIORITY 2", context={"rule": "escalate:release"},
                    session=session).id
    inbox.close()
    return qid


def _answer(repo: Path, qid: str) -> tuple[str | None, str | None, str | None]:
    question = Inbox(repo / ".coffee_maker" / "inbox.db").get(qid)
    assert question is not None
    return question.status, question.answer, question.channel


class TestWithoutJavaScript:
    def test_a_plain_form_answers(self, server: WebServer, repo: Path, new_browser: Any) -> None:
        """With JavaScript off, the Deny button is a plain form POST and the answer is recorded."""
        from selenium.webdriver.common.by import By

        qid = _ask(repo)
        browser = new_browser(javascript=False)
        assert server.url is not None
        browser.get(server.url.replace("/?", "/inbox?"))
        browser.find_element(By.XPATH, f"//article[@id='q-{qid}']//button[normalize-space()='Deny']").click()
        wait_until(lambda: f"Answered {qid}." in page_text(browser, "main"), timeout_s=10,
                 what="the confirmation after a plain form POST")
        assert _answer(repo, qid) == ("answered", "no", "web")


class TestKeyboard:
    def test_tab_to_a_button_and_press_enter(self, server: WebServer, repo: Path, browser: Any) -> None:
        """Every control is reachable with Tab; Enter on “Allow” answers yes."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        qid = _ask(repo)
        assert server.url is not None
        browser.get(server.url.replace("/?", "/inbox?"))
        for _ in range(30):
            ActionChains(browser).send_keys(Keys.TAB).perform()
            if browser.switch_to.active_element.text == "Allow":
                break
        else:
            pytest.fail("Tab never reached the Allow button")
        ActionChains(browser).send_keys(Keys.ENTER).perform()
        wait_until(lambda: _answer(repo, qid)[0] == "answered", timeout_s=10, what="the keyboard answer")
        assert _answer(repo, qid) == ("answered", "yes", "web")


class TestPhoneScreen:
    @pytest.mark.parametrize("path", ["/", "/inbox", "/history", "/roadmap"])
    def test_no_sideways_scrolling_at_390_px(self, server: WebServer, repo: Path, new_browser: Any, path: str) -> None:
        """At a phone's width the page fits: nothing scrolls sideways, the answer buttons are full-size."""
        _ask(repo)
        browser = new_browser(width=390, height=844)
        assert server.url is not None
        browser.get(server.url.replace("/?", f"{path}?"))
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        if path == "/inbox":
            height = browser.execute_script("return document.querySelector('.answers button').offsetHeight")
            assert height >= 40  # a thumb-sized target
