"""The page over a real socket: token, cookie, CSRF, answers, retry, pause, redaction, a taken port."""

from __future__ import annotations

import socket
import stat
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from coffee_maker.config import load_config
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.daemon.status import StatusBoard
from coffee_maker.notify.inbox import Inbox
from coffee_maker.observe.telemetry import TelemetryStore
from coffee_maker.web._token import read_info
from coffee_maker.web.server import WebServer
from tests.web.conftest import Client, csrf_of

_SESSIONS: list[object] = []  # live asking sessions: the test process plays the waiting daemon


def _ask(repo: Path, text: str = "Which API key should I use?", options: tuple[str, ...] = ("offline", "KEY"),
         *, waited: bool = True, answer_from: tuple[str, ...] = (), **context: object) -> str:
    inbox = Inbox(repo / ".coffee_maker" / "inbox.db")
    session = inbox.open_session() if waited else None
    _SESSIONS.append(session)
    qid = inbox.add(text, kind="question", options=options, safe_default="offline", timeout_s=600,
                    priority="PRIORITY 2", context=dict(context), session=session, answer_from=answer_from).id
    inbox.close()
    return qid


class TestToken:
    def test_no_token_is_401_with_a_sentence_and_nothing_else(self, anonymous: Client, repo: Path) -> None:
        """Without a token every path, even a static file, is a 401 that says what to do and shows no data."""
        _ask(repo, "Deploy to production?")
        for path in ("/", "/inbox", "/history", "/static/htmx.min.js", "/events"):
            reply = anonymous.get(path)
            assert reply.status == 401, path
            assert "coffee-maker web" in reply.text
            assert "production" not in reply.text and "PRIORITY" not in reply.text
        assert "Python" not in anonymous.get("/").headers.get("server", "")

    def test_wrong_token_and_wrong_cookie_are_refused(self, anonymous: Client) -> None:
        """A wrong token in the URL, the cookie or a bearer header gets the same 401."""
        assert anonymous.get("/?token=not-the-token").status == 401
        assert anonymous.get("/", headers={"Cookie": "coffee_maker_1=nope"}).status == 401
        assert anonymous.get("/", headers={"Authorization": "Bearer nope"}).status == 401

    def test_first_visit_sets_a_strict_cookie_and_drops_the_token_from_the_url(self, server: WebServer,
                                                                                anonymous: Client) -> None:
        """The printed URL answers with an HttpOnly SameSite=Strict cookie and a redirect without the token."""
        assert server.url is not None
        reply = anonymous.get("/inbox?" + server.url.split("?", 1)[1])
        assert reply.status == 303
        assert reply.headers["location"] == "/inbox"
        cookie = reply.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert Client(anonymous.base, cookie=cookie.split(";")[0]).get("/inbox").status == 200

    def test_token_file_is_private_and_kept_across_restarts(self, repo: Path, server: WebServer) -> None:
        """The token lives in the state directory with mode 0600 and is the same after a restart."""
        path = load_config(repo).layout.web_token
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        again = WebServer(load_config(repo))
        assert again.start() is not None
        try:
            assert again.token == server.token
        finally:
            again.close()


class TestCsrf:
    def test_post_without_csrf_is_refused_and_changes_nothing(self, client: Client, repo: Path) -> None:
        """A POST without the CSRF field is a 403, and the question stays pending."""
        qid = _ask(repo)
        reply = client.post(f"/answer/{qid}", {"value": "offline"})
        assert reply.status == 403 and "CSRF" in reply.text
        assert Inbox(repo / ".coffee_maker" / "inbox.db").get(qid).status == "pending"  # type: ignore[union-attr]

    def test_post_from_another_origin_is_refused(self, client: Client, repo: Path) -> None:
        """The right CSRF value sent by a page of another origin is still refused."""
        qid = _ask(repo)
        csrf = csrf_of(client.get("/inbox").text)
        reply = client.post(f"/answer/{qid}", {"value": "offline", "csrf": csrf},
                            headers={"Origin": "http://evil.example"})
        assert reply.status == 403


class TestInbox:
    def test_question_shows_options_rule_and_time_left(self, client: Client, repo: Path) -> None:
        """A pending question is listed with one button per option, the rule that escalated it and the time left."""
        _ask(repo, rule="escalate:api key", reason="credentials go to a person")
        page = client.get("/inbox").text
        assert "Which API key should I use?" in page
        assert 'value="offline"' in page and 'value="KEY"' in page
        assert "escalate:api key" in page and "credentials go to a person" in page
        assert "left, then" in page

    def test_permission_buttons_are_labelled_allow_deny(self, client: Client, repo: Path) -> None:
        """A permission request's yes/no/always options read Allow, Deny and Always allow."""
        _ask(repo, "Allow Bash: make deploy", ("yes", "no", "always"))
        page = client.get("/inbox").text
        assert ">Allow</button>" in page and ">Deny</button>" in page and ">Always allow</button>" in page

    def test_answer_is_recorded_as_web_with_the_person(self, client: Client, repo: Path) -> None:
        """A click answers the question in the inbox as channel web, by the configured person."""
        qid = _ask(repo)
        csrf = csrf_of(client.get("/inbox").text)
        reply = client.post(f"/answer/{qid}", {"value": "offline", "csrf": csrf})
        assert reply.status == 303 and reply.headers["location"].startswith("/inbox?ok=answered")
        question = Inbox(repo / ".coffee_maker" / "inbox.db").get(qid)
        assert question is not None
        assert (question.status, question.answer, question.channel, question.answered_by) == \
            ("answered", "offline", "web", "web:Ada")
        assert f"Answered {qid}." in client.get(reply.headers["location"]).text

    def test_answered_elsewhere_says_by_whom_and_changes_nothing(self, client: Client, repo: Path) -> None:
        """An answer to a question the terminal already answered says who did, and keeps their answer."""
        qid = _ask(repo)
        csrf = csrf_of(client.get("/inbox").text)
        assert Inbox(repo / ".coffee_maker" / "inbox.db").answer(qid, "KEY", who="terminal", channel="terminal")
        reply = client.post(f"/answer/{qid}", {"value": "offline", "csrf": csrf})
        assert reply.status == 409
        assert f"Question {qid} was already answered by terminal (KEY); nothing was changed." in reply.text
        assert Inbox(repo / ".coffee_maker" / "inbox.db").get(qid).answer == "KEY"  # type: ignore[union-attr]

    def test_an_answer_that_is_not_an_option_is_refused(self, client: Client, repo: Path) -> None:
        """A value outside the options is a 400 naming the options; the question stays pending."""
        qid = _ask(repo)
        csrf = csrf_of(client.get("/inbox").text)
        reply = client.post(f"/answer/{qid}", {"value": "maybe", "csrf": csrf})
        assert reply.status == 400 and "choose one of: offline, KEY" in reply.text

    def test_high_severity_reserved_for_the_terminal_is_not_answerable_here(self, client: Client, repo: Path) -> None:
        """A request whose tier allows only terminal/CLI shows where to answer, and a forged POST is refused."""
        qid = _ask(repo, "Allow Bash: git push --force origin main", ("yes", "no"), severity="high",
                   answer_from=("terminal", "cli"))
        page = client.get("/inbox").text
        assert "Severity: high" in page and "Answer this one from terminal or cli." in page
        assert f'action="/answer/{qid}"' not in page
        reply = client.post(f"/answer/{qid}", {"value": "yes", "csrf": csrf_of(client.get("/").text)})
        assert reply.status == 403 and "may be answered only from terminal or cli" in reply.text
        assert Inbox(repo / ".coffee_maker" / "inbox.db").get(qid).status == "pending"  # type: ignore[union-attr]

    def test_a_question_whose_daemon_stopped_waits_for_its_return(self, client: Client, repo: Path) -> None:
        """Nobody waits for it: listed without buttons, and an answer says it will be asked again."""
        qid = _ask(repo, "Rotate the staging key?", waited=False)
        page = client.get("/inbox").text
        assert "Asked by a daemon that has stopped" in page and "Rotate the staging key?" in page
        assert f'action="/answer/{qid}"' not in page
        reply = client.post(f"/answer/{qid}", {"value": "offline", "csrf": csrf_of(client.get("/").text)})
        assert reply.status == 409 and "will be asked again when the daemon resumes" in reply.text
        assert Inbox(repo / ".coffee_maker" / "inbox.db").get(qid).status == "pending"  # type: ignore[union-attr]

    def test_free_text_question_has_a_text_field(self, client: Client, repo: Path) -> None:
        """A question without options gets a labelled text field and a Send button."""
        _ask(repo, "What should the CLI be called?", ())
        page = client.get("/inbox").text
        assert 'type="text"' in page and "Your answer" in page and ">Send</button>" in page

    def test_secrets_are_never_shown(self, client: Client, repo: Path) -> None:
        """A token in the question or its context is redacted exactly as the interaction log does."""
        secret = "ghp_" + "a1B2" * 10
        _ask(repo, f"Use GITHUB_TOKEN={secret} for the release?", tool="Bash", input={"command": f"echo {secret}"})
        page = client.get("/inbox").text
        assert secret not in page and "[REDACTED]" in page


class TestOverview:
    def test_lane_next_up_and_spend(self, client: Client, repo: Path) -> None:
        """The overview shows lane 1, the next priority with the planner's reasons, and today's spend."""
        page = client.get("/").text
        assert "Lane 1" in page and "PRIORITY 2" in page and "Today's spend" in page
        assert '<p id="next-up"><strong>PRIORITY 2</strong>: Second' in page
        StateStore(repo / ".coffee_maker" / "state.db").transition("PRIORITY 2", Phase.BLOCKED, reason="stuck")
        page = client.get("/").text
        assert "PRIORITY 2</strong> skipped: blocked by the daemon" in page and "Nothing planned is ready" in page

    def test_the_lanes_own_priority_is_not_next(self, client: Client, repo: Path) -> None:
        """While lane 1 works on PRIORITY 2, next up is what comes after it, with the planner's reason."""
        StateStore(repo / ".coffee_maker" / "state.db").set_info(current="PRIORITY 2", phase="agent_running")
        page = client.get("/").text
        assert '<dd class="lane-priority">PRIORITY 2</dd>' in page
        assert "Nothing planned is ready" in page and "PRIORITY 2</strong> skipped" not in page
        assert "PRIORITY 3</strong> skipped: waits for PRIORITY 2" in page

    def test_every_running_lane_has_its_card(self, client: Client, repo: Path) -> None:
        """Two lanes at work (the rows the daemon's StatusBoard writes): a card each, the question in its lane."""
        store = StateStore(repo / ".coffee_maker" / "state.db")
        board = StatusBoard(store)
        for lane, pid in ((1, "PRIORITY 1"), (2, "PRIORITY 2")):
            board.bind_lane(lane)
            board.working(pid)
        board.step("validating")  # lane 2 moved on
        qid = _ask(repo, "Which API key should I use?")  # asked for PRIORITY 2
        page = client.get("/").text
        first, second = page.split('id="lane-1"')[1].split('id="lane-2"')
        assert '<dd class="lane-priority">PRIORITY 1</dd>' in first and "the agent" in first
        assert '<dd class="lane-priority">PRIORITY 2</dd>' in second and '<dd class="lane-phase">validating' in second
        assert f"you: question {qid} in the inbox" in second
        assert "Nothing planned is ready" in page and "PRIORITY 3</strong> skipped: waits for PRIORITY 2" in page
        assert "PRIORITY 1</strong> skipped" not in page  # working, not "next" with a reason
        assert "PRIORITY 2</strong> · lane 2" in client.get("/inbox").text

    def test_retry_unblocks_a_blocked_priority_and_wakes_the_daemon(self, repo: Path) -> None:
        """Retry moves a blocked priority back to planned (attempts reset) and wakes the idle loop."""
        store = StateStore(repo / ".coffee_maker" / "state.db")
        store.transition("PRIORITY 2", Phase.BLOCKED, reason="tests kept failing", attempt=3)
        wake = threading.Event()
        web = WebServer(load_config(repo), wake=wake)
        assert web.start() is not None and web.url is not None
        try:
            anonymous = Client(web.url.split("?")[0])
            client = Client(anonymous.base, cookie=anonymous.get("/?" + web.url.split("?")[1])
                            .headers["set-cookie"].split(";")[0])
            page = client.get("/").text
            assert "tests kept failing" in page and ">Retry</button>" in page
            reply = client.post("/retry", {"priority": "PRIORITY 2", "csrf": csrf_of(page)})
            assert reply.status == 303
            assert wake.is_set()
            state = store.get("PRIORITY 2")
            assert state is not None and state.phase is Phase.PLANNED and state.attempt == 0
            again = client.post("/retry", {"priority": "PRIORITY 2", "csrf": csrf_of(page)})
            assert again.status == 409 and "is not blocked" in again.text
        finally:
            web.close()

    def test_pause_and_resume(self, client: Client, repo: Path) -> None:
        """Pause records who paused (the loop starts nothing new); Resume clears it."""
        page = client.get("/").text
        assert client.post("/pause", {"csrf": csrf_of(page)}).status == 303
        store = StateStore(repo / ".coffee_maker" / "state.db")
        assert store.info()["paused_by"] == "Ada"
        page = client.get("/").text
        assert "Paused by Ada" in page and ">Resume</button>" in page
        assert client.post("/resume", {"csrf": csrf_of(page)}).status == 303
        assert store.info()["paused_by"] is None


class TestHistoryAndRoadmap:
    def test_history_filters_and_charts(self, client: Client, repo: Path) -> None:
        """Filtering by channel keeps only that channel's rows; the charts are inline SVG."""
        telemetry = TelemetryStore(repo / ".coffee_maker" / "telemetry.db")
        telemetry.record_interactions([
            {"interaction_type": "permission", "question": "Allow Bash: make deploy", "response": "allow",
             "response_method": "person:slack:U1", "channels": ["slack"], "response_time_seconds": 4.0},
            {"interaction_type": "permission", "question": "Allow Bash: pytest", "response": "allow",
             "response_method": "rule:run-tests"},
        ])
        page = client.get("/history").text
        assert "make deploy" in page and "pytest" in page and page.count("<svg") == 2
        only_slack = client.get("/history?channel=slack").text
        assert "make deploy" in only_slack and "Allow Bash: pytest" not in only_slack

    def test_roadmap_graph_and_table(self, client: Client) -> None:
        """The roadmap page lists every priority and draws a dependency arrow per dependency."""
        page = client.get("/roadmap").text
        assert page.count("<line ") == 2 and "PRIORITY 3" in page and "0/1" in page


class TestServing:
    def test_a_taken_port_is_one_warning_and_no_server(self, repo: Path) -> None:
        """Binding a port already taken logs one warning and returns None (the daemon runs on)."""
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (repo / "coffee_maker.toml").write_text(f"[web]\nport = {port}\n")
        try:
            with capture_logs() as logs:
                assert WebServer(load_config(repo)).start() is None
        finally:
            taken.close()
        warnings = [entry for entry in logs if entry["log_level"] == "warning"]
        assert len(warnings) == 1 and "could not listen" in warnings[0]["event"]

    def test_beyond_loopback_says_the_token_is_required(self, repo: Path) -> None:
        """Listening on 0.0.0.0 warns that every request needs the token."""
        (repo / "coffee_maker.toml").write_text('[web]\nport = 0\nhost = "0.0.0.0"\n')
        web = WebServer(load_config(repo))
        with capture_logs() as logs:
            assert web.start() is not None
        web.close()
        assert any("beyond loopback" in entry["event"] and "token" in entry["event"] for entry in logs)

    def test_close_stops_serving_and_forgets_the_url(self, repo: Path, server: WebServer) -> None:
        """After close() the socket is gone, web.json is removed, and no server thread is left."""
        assert read_info(load_config(repo).layout) is not None
        server.close()
        assert read_info(load_config(repo).layout) is None
        assert not [t for t in threading.enumerate() if t.name == "web-dashboard"]

    def test_a_stalled_browser_blocks_nobody(self, server: WebServer, client: Client) -> None:
        """A connection that sends half a request and stalls does not stop other pages or close()."""
        assert server.url is not None
        port = int(server.url.split(":")[2].split("/")[0])
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.sendall(b"GET /inbox HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        try:
            assert client.get("/inbox").status == 200
            server.close()  # returns although the stalled connection is still open
        finally:
            stalled.close()

    def test_live_updates_announce_an_inbox_change(self, server: WebServer, client: Client, repo: Path) -> None:
        """The event stream sends `change` when another process commits to the inbox."""
        import http.client

        assert server.url is not None
        port = int(server.url.split(":")[2].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/events", headers={"Cookie": client.cookie or ""})
        stream = conn.getresponse()
        assert stream.status == 200 and stream.getheader("content-type") == "text/event-stream"
        assert stream.readline() == b"retry: 2000\n"
        _ask(repo)
        lines = [stream.readline() for _ in range(3)]
        assert b"event: change\n" in lines
        conn.close()

    @pytest.mark.parametrize("path", ["/static/../server.py", "/static/htmx.LICENSE", "/nowhere"])
    def test_unknown_paths_are_404(self, client: Client, path: str) -> None:
        """Only the page routes and the vendored static files are served."""
        assert client.get(path).status == 404
