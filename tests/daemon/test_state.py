"""The persisted state machine: durable transitions, legal moves only, concurrent readers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from coffee_maker.daemon.state import IllegalTransition, Phase, StateStore


class TestStateStore:
    def test_happy_path_is_recorded(self, tmp_path: Path) -> None:
        """Each step of the line is allowed and lands in the history."""
        store = StateStore(tmp_path / "state.db")
        for phase in (Phase.BRANCHED, Phase.AGENT_RUNNING, Phase.VALIDATING, Phase.COMMITTED,
                      Phase.PUSHED, Phase.PR_OPEN, Phase.MERGED, Phase.DONE):
            store.transition("PRIORITY 1", phase)
        assert store.get("PRIORITY 1").phase is Phase.DONE  # type: ignore[union-attr]
        assert [h[1] for h in store.history("PRIORITY 1")][-1] == "done"

    def test_illegal_transition_raises(self, tmp_path: Path) -> None:
        """Skipping the gate (agent_running → committed) is refused."""
        store = StateStore(tmp_path / "state.db")
        store.transition("P", Phase.BRANCHED)
        store.transition("P", Phase.AGENT_RUNNING)
        with pytest.raises(IllegalTransition):
            store.transition("P", Phase.COMMITTED)

    def test_fields_survive_reopen(self, tmp_path: Path) -> None:
        """A new process sees the phase and fields the last one wrote."""
        store = StateStore(tmp_path / "state.db")
        store.transition("P", Phase.BRANCHED, branch="coffee-maker/p", attempt=1)
        store.update("P", session_id="s-1", cost_usd=0.5)
        store.close()
        again = StateStore(tmp_path / "state.db").get("P")
        assert again is not None and again.branch == "coffee-maker/p" and again.session_id == "s-1"
        assert again.attempt == 1 and again.cost_usd == 0.5

    def test_sets_for_planner(self, tmp_path: Path) -> None:
        """in-review and blocked sets come from the phases."""
        store = StateStore(tmp_path / "state.db")
        for phase in (Phase.BRANCHED, Phase.AGENT_RUNNING, Phase.VALIDATING, Phase.COMMITTED, Phase.PUSHED, Phase.PR_OPEN):
            store.transition("A", phase)
        store.transition("B", Phase.BLOCKED, reason="three failures")
        assert store.ids_in({Phase.PR_OPEN}) == {"A"}
        assert store.ids_in({Phase.BLOCKED}) == {"B"}
        store.transition("C", Phase.RETRY, reason="a failed attempt")
        store.transition("D", Phase.BRANCHED)
        assert [s.priority for s in store.in_phases({Phase.RETRY, Phase.BRANCHED, Phase.BLOCKED})] == ["B", "C", "D"]
        assert store.in_phases({Phase.MERGED}) == [] and store.ids_in({Phase.DONE}) == frozenset()

    def test_a_failure_before_the_branch_can_retry_again(self, tmp_path: Path) -> None:
        """planned → retry and retry → retry: an attempt can fail before its branch exists."""
        store = StateStore(tmp_path / "state.db")
        store.transition("P", Phase.RETRY, attempt=1)
        store.transition("P", Phase.RETRY, attempt=2)
        store.transition("P", Phase.BLOCKED, attempt=3)
        store.transition("P", Phase.PLANNED)  # a person unblocked it
        assert store.transition("P", Phase.RETRY, attempt=4).attempt == 4

    def test_daily_cost_accumulates(self, tmp_path: Path) -> None:
        """Cost adds up per day."""
        store = StateStore(tmp_path / "state.db")
        store.add_cost("2026-11-23", 0.25)
        assert store.add_cost("2026-11-23", 0.5) == 0.75
        assert store.day_cost("2026-11-24") == 0.0


def _writer(path: str, name: str) -> None:
    store = StateStore(Path(path))
    for _ in range(20):
        store.add_cost("d", 1.0)
    store.set_info(**{name: "ok"})


class TestConcurrency:
    def test_two_processes_write(self, tmp_path: Path) -> None:
        """WAL and busy timeouts let two processes write without losing updates."""
        path = str(tmp_path / "state.db")
        StateStore(Path(path))
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_writer, args=(path, f"w{i}")) for i in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        store = StateStore(Path(path))
        assert store.day_cost("d") == 40.0
        assert store.info() == {"w0": "ok", "w1": "ok"}


#: What the code before sqlite.migrate created: this schema by executescript, user_version left at 0.
SCHEMA_BEFORE_MIGRATE = """
CREATE TABLE IF NOT EXISTS priorities (
    priority TEXT PRIMARY KEY, phase TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
    branch TEXT, workspace TEXT, session_id TEXT, commit_sha TEXT, pr_number INTEGER, pr_url TEXT,
    cost_usd REAL NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', updated_at REAL NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, priority TEXT NOT NULL, from_phase TEXT, to_phase TEXT NOT NULL,
    at REAL NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS daily_cost (day TEXT PRIMARY KEY, cost_usd REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS daemon (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class TestExistingFiles:
    def test_a_state_db_made_before_versioning_opens_with_its_rows(self, tmp_path: Path) -> None:
        """A daemon upgraded in place finds every priority, transition, cost and status it had."""
        import sqlite3

        path = tmp_path / "state.db"
        conn = sqlite3.connect(path)
        conn.executescript(SCHEMA_BEFORE_MIGRATE)
        conn.execute("INSERT INTO priorities (priority, phase, attempt, branch, pr_number, cost_usd, updated_at, extra)"
                     " VALUES ('PRIORITY 1', 'pr_open', 2, 'feat/p1', 7, 1.5, 100.0, '{\"section_digest\": \"d\"}')")
        conn.execute("INSERT INTO transitions (priority, from_phase, to_phase, at, detail)"
                     " VALUES ('PRIORITY 1', 'pushed', 'pr_open', 100.0, 'opened')")
        conn.execute("INSERT INTO daily_cost VALUES ('2026-12-01', 1.5)")
        conn.execute("INSERT INTO daemon VALUES ('phase', '\"idle\"')")
        conn.commit()
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)
        conn.close()

        store = StateStore(path)
        state = store.get("PRIORITY 1")
        assert state is not None and (state.phase, state.attempt, state.branch, state.pr_number, state.cost_usd) == \
            (Phase.PR_OPEN, 2, "feat/p1", 7, 1.5)
        assert state.extra == {"section_digest": "d"}
        assert store.history("PRIORITY 1") == [("pushed", "pr_open", 100.0, "opened")]
        assert store.day_cost("2026-12-01") == 1.5
        assert store.info() == {"phase": "idle"}
        store.transition("PRIORITY 1", Phase.MERGED)  # and it keeps working
        store.close()
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA user_version").fetchone() == (1,)
        check.close()
