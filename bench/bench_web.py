"""The web dashboard: server time per page with 100,000 interactions, click → agent, state change → page.

1. Server time: ``WebApp.handle`` for the overview and the history (unfiltered and filtered) over a
   repository whose telemetry holds ``--interactions`` records spread over the last 30 days.
2. Answer click → the agent receives it: an ``Escalator.ask`` blocks in a thread (as the agent's decision
   does); the timer starts when the POST is sent over a real socket and stops when ``ask`` returns.
3. State change → page updated: a real headless Chromium shows the overview; the timer starts at the
   ``state.db`` write and stops when the lane's phase on the page shows the new value (SSE + refetch).
   Skipped, with a note, when chromium/chromedriver are missing.

    .venv/bin/python bench/bench_web.py [--interactions 100000] [--runs 200] [--clicks 50] [--changes 30]
"""

from __future__ import annotations

import argparse
import http.client
import logging
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import structlog
from _percentiles import describe_ms

from coffee_maker.config import load_config
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.notify.escalator import Escalator
from coffee_maker.notify.inbox import Inbox
from coffee_maker.observe.telemetry import TelemetryStore
from coffee_maker.web._app import Request
from coffee_maker.web.server import WebServer

KINDS = ("permission", "auto_response", "user_response", "timeout_default")
CHANNELS = ("slack", "terminal", "desktop", "cli", "web")


def build_repo(root: Path, interactions: int, priorities: int = 60) -> Path:
    repo = root / "project"
    (repo / "docs").mkdir(parents=True)
    sections = [f"## PRIORITY {i}: Item {i}\n\n**Status**: {'✅ Complete' if i < 20 else '📝 Planned'}\n"
                + (f"**Dependencies**: PRIORITY {i - 1}\n" if i > 1 else "") + "\n- [ ] a deliverable\n"
                for i in range(1, priorities + 1)]
    (repo / "docs" / "ROADMAP.md").write_text("# Roadmap\n\n" + "\n".join(sections))
    (repo / "coffee_maker.toml").write_text("[web]\nport = 0\n")
    state = repo / ".coffee_maker"
    rng = random.Random(7)
    telemetry = TelemetryStore(state / "telemetry.db")
    now = time.time()
    batch = []
    for i in range(interactions):
        kind = rng.choice(KINDS)
        channel = rng.choice(CHANNELS)
        person = kind in ("user_response", "permission") and rng.random() < 0.4
        batch.append({"timestamp": now - rng.random() * 30 * 86400, "priority": f"PRIORITY {rng.randint(1, 60)}",
                      "interaction_type": kind, "question": f"Allow Bash: pytest -q tests/test_{i % 500}.py",
                      "response": rng.choice(("allow", "deny", "yes", "no")),
                      "response_method": f"person:{channel}:u" if person else f"rule:rule-{i % 12}",
                      "channels": [channel] if person else [], "response_time_seconds": rng.random() * 60,
                      "timed_out": kind == "timeout_default"})
        if len(batch) == 5000:
            telemetry.record_interactions(batch)
            batch = []
    telemetry.record_interactions(batch)
    for i in range(interactions // 100):
        aid = telemetry.start_attempt(f"PRIORITY {i % 60}", 1, None)
        telemetry.finish_attempt(aid, outcome="success", cost_usd=rng.random(), input_tokens=1, output_tokens=1,
                                 turns=3)
    telemetry.close()
    store = StateStore(state / "state.db")
    for i in range(1, 20):
        store.transition(f"PRIORITY {i}", Phase.BRANCHED)
    store.set_info(current="PRIORITY 20", phase="agent_running", started=now)
    inbox = Inbox(state / "inbox.db")
    for i in range(5):
        inbox.add(f"Question {i}?", kind="question", options=("yes", "no"), safe_default="no", timeout_s=3600)
    return repo


def server_time(web: WebServer, runs: int) -> None:
    app = web._server.app  # type: ignore[union-attr]  # the benchmark times the handler itself
    headers = {"authorization": f"Bearer {web.token}", "host": "127.0.0.1"}
    for label, path, query in (("overview", "/", {}), ("inbox", "/inbox", {}), ("history", "/history", {}),
                               ("history, channel=slack", "/history", {"channel": "slack"}),
                               ("history, rule + decision", "/history", {"rule": "rule:rule-3", "decision": "deny"}),
                               ("history, a filter nothing matches (whole table)", "/history", {"priority": "none"})):
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            response = app.handle(Request("GET", path, query, headers))
            samples.append(time.perf_counter() - started)
            assert response.status == 200, response.body[:200]
        print(f"server time, {label}: {describe_ms(samples)}")


def click_to_agent(web: WebServer, repo: Path, clicks: int) -> None:
    inbox = Inbox(repo / ".coffee_maker" / "inbox.db")
    escalator = Escalator(inbox, [], timeout_s=60)
    base = urlsplit(web.url or "")
    csrf = web._server.app.auth.csrf  # type: ignore[union-attr]
    samples = []
    for i in range(clicks):
        text = f"Click {i}: deploy?"
        result: list[float] = []
        def agent_waits(question: str = text, received: list[float] = result) -> None:
            escalator.ask(question, kind="question", options=("yes", "no"), safe_default="no")
            received.append(time.perf_counter())

        thread = threading.Thread(target=agent_waits)
        thread.start()
        while not (found := [q for q in inbox.pending() if q.text == text]):
            time.sleep(0.002)
        conn = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port)
        started = time.perf_counter()
        conn.request("POST", f"/answer/{found[0].id}", body=urlencode({"value": "yes", "csrf": csrf}),
                     headers={"Authorization": f"Bearer {web.token}",
                              "Content-Type": "application/x-www-form-urlencoded"})
        assert conn.getresponse().status == 303
        thread.join(10)
        samples.append(result[0] - started)
        conn.close()
    print(f"answer click → agent receives it: {describe_ms(samples)}")


def change_to_page(web: WebServer, repo: Path, changes: int, profile: Path) -> None:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        print("state change → page updated: skipped (chromium and chromedriver are not installed)")
        return
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    store = StateStore(repo / ".coffee_maker" / "state.db")
    samples = []
    try:
        chrome.get(web.url or "")
        time.sleep(1.0)  # the event stream connects once
        for i in range(changes):
            phase = f"validating-{i}"
            started = time.perf_counter()
            store.set_info(phase=phase)
            deadline = started + 5
            while time.perf_counter() < deadline:
                shown = chrome.execute_script("var e = document.getElementById('lane-phase');"
                                              " return e ? e.textContent : null;")
                if shown == phase:
                    break
                time.sleep(0.005)
            samples.append(time.perf_counter() - started)
    finally:
        chrome.quit()
    print(f"state change → page updated (real Chromium): {describe_ms(samples)}")


def main() -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clicks", type=int, default=50)
    parser.add_argument("--changes", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        repo = build_repo(Path(tmp), args.interactions)
        print(f"built a repository with {args.interactions:,} interactions in {time.perf_counter() - started:.1f} s")
        web = WebServer(load_config(repo))
        if web.start() is None:
            print("the web server could not listen", file=sys.stderr)
            return 1
        try:
            server_time(web, args.runs)
            click_to_agent(web, repo, args.clicks)
            change_to_page(web, repo, args.changes, Path(tmp) / "chromium-profile")
        finally:
            web.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
