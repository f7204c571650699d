"""Inbox and Escalator: first answer wins, timeout, invalid answers, failing channels, restarts, priority order."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from coffee_maker.notify.escalator import Escalation, Escalator, normalise_answer
from coffee_maker.notify.inbox import Inbox
from coffee_maker.notify.sink import MemorySink
from coffee_maker.testing.channels import BrokenChannel, RecordingChannel, ScriptedPerson
from coffee_maker.testing.waiting import wait_until


class TestInbox:
    def test_short_ids_and_first_answer_wins(self, tmp_path: Path) -> None:
        """Ids are 4 typeable characters; a second answer to the same question is refused."""
        inbox = Inbox(tmp_path / "inbox.db")
        q = inbox.add("continue?", kind="question", options=("yes", "no"), safe_default="no", timeout_s=60)
        assert len(q.id) == 4 and q.id.isalnum()
        assert inbox.answer(q.id.upper(), "yes", who="a", channel="cli")
        assert not inbox.answer(q.id, "no", who="b", channel="slack")
        got = inbox.get(q.id)
        assert got is not None and (got.answer, got.answered_by) == ("yes", "a")

    def test_pending_in_priority_order(self, tmp_path: Path) -> None:
        """Higher rank first, then oldest."""
        inbox = Inbox(tmp_path / "inbox.db")
        low = inbox.add("a", kind="question", options=(), safe_default="no", timeout_s=60, rank=0)
        high = inbox.add("b", kind="question", options=(), safe_default="no", timeout_s=60, rank=2)
        low2 = inbox.add("c", kind="question", options=(), safe_default="no", timeout_s=60, rank=0)
        assert [q.id for q in inbox.pending()] == [high.id, low.id, low2.id]

    def test_wal_mode(self, tmp_path: Path) -> None:
        """The inbox runs in WAL mode so readers and the answering process never block each other."""
        inbox = Inbox(tmp_path / "inbox.db")
        assert inbox._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class TestNormaliseAnswer:
    def test_synonyms_and_prefixes(self) -> None:
        """y/ok/allow mean yes; a unique prefix is enough; anything else is invalid."""
        assert normalise_answer("Y", ("yes", "no")) == "yes"
        assert normalise_answer("allow", ("yes", "no", "always")) == "yes"
        assert normalise_answer("alw", ("yes", "no", "always")) == "always"
        assert normalise_answer("maybe", ("yes", "no")) is None
        assert normalise_answer("free text", ()) == "free text"


def _ask(escalator: Escalator, text: str = "Allow git push?", **kw: object) -> Escalation:
    return escalator.ask(text, kind="permission", options=("yes", "no"), safe_default="no", **kw)  # type: ignore[arg-type]


class TestEscalator:
    def test_answer_resolves_every_channel(self, tmp_path: Path) -> None:
        """The first valid answer wins and every channel is told (updated / withdrawn)."""
        inbox = Inbox(tmp_path / "inbox.db")
        person, other = ScriptedPerson(inbox, ["yes"]), RecordingChannel("other")
        result = _ask(Escalator(inbox, [other, person], timeout_s=30))
        assert (result.answer, result.who, result.channel, result.timed_out) == ("yes", "pat", "person", False)
        assert other.resolved == [(result.question_id, "yes", "pat")]
        assert result.channels == ("other", "person")

    def test_timeout_uses_safe_default_and_alerts(self, tmp_path: Path) -> None:
        """Nobody answers: the safe default, a timeout alert on every channel, the question expired."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = RecordingChannel()
        result = _ask(Escalator(inbox, [channel], timeout_s=0.2))
        assert result.timed_out and result.answer == "no" and result.who == "timeout_default"
        assert [kind for kind, _ in channel.informed] == ["timeout"]
        got = inbox.get(result.question_id)
        assert got is not None and got.status == "expired" and inbox.pending() == []

    def test_invalid_answer_reprompts(self, tmp_path: Path) -> None:
        """'maybe' is refused with a re-prompt; the next valid answer is used."""
        inbox = Inbox(tmp_path / "inbox.db")
        person = ScriptedPerson(inbox, ["maybe", "n"])
        result = _ask(Escalator(inbox, [person], timeout_s=30, invalid_retries=2))
        assert result.answer == "no" and not result.timed_out
        assert [kind for kind, _ in person.informed] == ["reprompt"]

    def test_invalid_answers_beyond_retries_fall_back(self, tmp_path: Path) -> None:
        """After the configured retries the safe default is used."""
        inbox = Inbox(tmp_path / "inbox.db")
        person = ScriptedPerson(inbox, ["maybe", "perhaps", "dunno"])
        result = _ask(Escalator(inbox, [person], timeout_s=30, invalid_retries=1))
        assert result.timed_out and result.answer == "no"
        assert [kind for kind, _ in person.informed] == ["reprompt", "timeout"]

    def test_failing_channel_is_skipped(self, tmp_path: Path) -> None:
        """A channel that raises is logged, counted as failed, and the others still get the question."""
        inbox = Inbox(tmp_path / "inbox.db")
        sink = MemorySink()
        result = _ask(Escalator(inbox, [BrokenChannel("slack"), ScriptedPerson(inbox, ["yes"])], timeout_s=30,
                                sink=sink))
        assert result.answer == "yes" and result.channels == ("person",)
        assert ("slack", "ask", False, result.question_id) in sink.notifications
        assert ("person", "ask", True, result.question_id) in sink.notifications

    def test_restart_with_a_pending_question(self, tmp_path: Path) -> None:
        """A question left pending by a dead daemon is re-used by the next one, answers included."""
        first = Inbox(tmp_path / "inbox.db")
        old = first.add("Allow git push?", kind="permission", options=("yes", "no"), safe_default="no",
                        timeout_s=60, priority="PRIORITY 3")
        first.close()  # the daemon dies here
        inbox = Inbox(tmp_path / "inbox.db")
        assert [q.id for q in inbox.pending()] == [old.id]
        assert inbox.answer(old.id, "yes", who="cli:sam", channel="cli")  # answered while no daemon ran
        channel = RecordingChannel()
        result = _ask(Escalator(inbox, [channel], timeout_s=30), priority="PRIORITY 3")
        assert (result.question_id, result.answer, result.who) == (old.id, "yes", "cli:sam")
        assert channel.asked == []  # already answered: nobody is bothered again
        assert inbox.find_open(priority="PRIORITY 3", kind="permission", text="Allow git push?") is None

    def test_questions_are_served_by_rank(self, tmp_path: Path) -> None:
        """With one question on screen, a later high-rank question is prompted before an earlier low-rank one."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = RecordingChannel()
        escalator = Escalator(inbox, [channel], timeout_s=30)
        results: dict[str, Escalation] = {}

        def ask(text: str, rank: int) -> None:
            results[text] = _ask(escalator, text, rank=rank)

        threads = [threading.Thread(target=ask, args=("first", 0))]
        threads[0].start()
        wait_until(lambda: len(channel.asked) >= 1, timeout_s=30, what="the first question on screen", interval_s=0.01)
        for text, rank in (("low", 0), ("high", 2)):
            threads.append(threading.Thread(target=ask, args=(text, rank)))
            threads[-1].start()
        wait_until(lambda: len(inbox.pending()) >= 3, timeout_s=30, what="three questions in the inbox",
                   interval_s=0.01)
        for n in range(3):
            wait_until(lambda: len(channel.asked) >= n + 1, timeout_s=30,  # noqa: B023 — called within the iteration
                       what=f"question {n + 1} on screen", interval_s=0.01)
            inbox.answer(channel.asked[n].id, "yes", who="p", channel="rec")
        for thread in threads:
            thread.join(timeout=30)
        assert [q.text for q in channel.asked] == ["first", "high", "low"]
        assert {r.answer for r in results.values()} == {"yes"}


class TestSkipAndWithdraw:
    def test_skip_uses_the_safe_default_now(self, tmp_path: Path) -> None:
        """The Skip button is a valid answer that means: use the safe default, don't wait."""
        inbox = Inbox(tmp_path / "inbox.db")
        result = _ask(Escalator(inbox, [ScriptedPerson(inbox, ["skip"])], timeout_s=30))
        assert (result.answer, result.who, result.timed_out) == ("no", "pat", False)

    def test_timeout_withdraws_the_prompt(self, tmp_path: Path) -> None:
        """On timeout every channel is told the question is settled with the safe default."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = RecordingChannel()
        result = _ask(Escalator(inbox, [channel], timeout_s=0.1))
        assert channel.resolved == [(result.question_id, "no", "timeout_default")]


class TestStopping:
    def test_a_stopping_daemon_keeps_the_question(self, tmp_path: Path) -> None:
        """SIGTERM while waiting: the safe default is returned, the question stays pending for the next run."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = RecordingChannel()
        stop = threading.Event()
        escalator = Escalator(inbox, [channel], timeout_s=60, stop=stop)
        out: list[Escalation] = []
        thread = threading.Thread(target=lambda: out.append(_ask(escalator, priority="PRIORITY 3")))
        thread.start()
        assert channel.asked_event.wait(30)
        stop.set()
        thread.join(timeout=30)
        assert out[0].answer == "no" and out[0].stopped and not out[0].timed_out and channel.informed == []
        assert [q.id for q in inbox.pending()] == [out[0].question_id]
        inbox.answer(out[0].question_id, "yes", who="cli:sam", channel="cli")
        again = _ask(Escalator(inbox, [RecordingChannel()], timeout_s=60), priority="PRIORITY 3")
        assert (again.question_id, again.answer) == (out[0].question_id, "yes")


class TestSessions:
    def test_questions_of_a_closed_session_wait_for_the_next_one(self, tmp_path: Path) -> None:
        """Open: the question is waited for. Closed (the daemon stopped): it is listed as asker-stopped."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = RecordingChannel()
        stop = threading.Event()
        escalator = Escalator(inbox, [channel], timeout_s=60, stop=stop)
        thread = threading.Thread(target=lambda: _ask(escalator, priority="PRIORITY 3"))
        thread.start()
        assert channel.asked_event.wait(30)
        [question] = inbox.waiting()
        assert inbox.asker_stopped() == [] and question.asker_pid == os.getpid()
        stop.set()
        thread.join(timeout=30)
        escalator.close()
        assert inbox.waiting() == [] and [q.id for q in inbox.asker_stopped()] == [question.id]

    def test_the_next_session_adopts_an_expired_question_with_a_fresh_timeout(self, tmp_path: Path) -> None:
        """Asked long ago by a dead session (its timeout passed meanwhile): asked again, same id, not timed out."""
        old_session = Inbox(tmp_path / "inbox.db").open_session()
        old = Inbox(tmp_path / "inbox.db").add("Allow git push?", kind="permission", options=("yes", "no"),
                                               safe_default="no", timeout_s=0.0, priority="PRIORITY 3",
                                               session=old_session)
        old_session.close()
        inbox = Inbox(tmp_path / "inbox.db")
        person = ScriptedPerson(inbox, ["yes"])
        result = _ask(Escalator(inbox, [person], timeout_s=30), priority="PRIORITY 3")
        assert (result.question_id, result.answer, result.timed_out) == (old.id, "yes", False)
        assert [q.id for q in person.asked] == [old.id]
