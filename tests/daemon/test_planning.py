"""One planner: the daemon, `status`, `roadmap next` and `run --dry-run` name the same next priority."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.testing.config_edit import set_config
from tests.conftest import git
from tests.daemon.conftest import set_script

ENV = {**os.environ, "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "0.5"}
GOOD = {"steps": [{"write": "weather/extra.py", "content": "X = 1\n"}, {"result": "Done."}]}
THIRD = "## PRIORITY 3: Forecast charts\n\n**Status**: 📝 Planned\n\n**Dependencies**: PRIORITY 1\n\n"


def cm(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args, "--repo", str(repo)], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, env=ENV)


def test_merged_work_counts_as_complete_everywhere(sandbox: Path) -> None:
    """After PRIORITY 1's PR merged (the person has not pulled the ticked roadmap), `status`, `roadmap next` and
    `run --dry-run` all name PRIORITY 3, which depends on it — as the daemon does."""
    set_script(sandbox, "default.json", GOOD)
    roadmap = sandbox / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().replace("## PRIORITY 2:", THIRD + "## PRIORITY 2:"))
    # The daemon works only on a roadmap that is on the remote's default branch: plan, then push.
    git(sandbox, "commit", "-qam", "docs: plan PRIORITY 3")
    git(sandbox, "push", "-q", "origin", "main")
    cm(sandbox, "run", "--priority", "PRIORITY 1")
    store = StateStore(sandbox / ".coffee_maker" / "state.db")
    assert store.get("PRIORITY 1").phase is Phase.PR_OPEN  # type: ignore[union-attr]
    before = cm(sandbox, "roadmap", "next").stdout
    assert "waits for PRIORITY 1 (in review)" in before and "Next: PRIORITY 2" in before
    # What the daemon's PR poll records when the forge says merged:
    store.transition("PRIORITY 1", Phase.MERGED)
    store.transition("PRIORITY 1", Phase.DONE)
    store.close()
    assert "📝 Planned" in roadmap.read_text().split("PRIORITY 2")[0]  # the checkout still says planned
    assert json.loads(cm(sandbox, "roadmap", "next", "--json").stdout)["next"]["id"] == "PRIORITY 3"
    assert json.loads(cm(sandbox, "status", "--json").stdout)["next_up"].startswith("PRIORITY 3: Forecast charts")
    assert "would work on PRIORITY 3" in cm(sandbox, "run", "--dry-run").stdout
    cm(sandbox, "run", "--once")
    assert StateStore(sandbox / ".coffee_maker" / "state.db").get("PRIORITY 3").phase is Phase.PR_OPEN  # type: ignore[union-attr]


def test_dry_run_honours_priority(sandbox: Path) -> None:
    """`run --dry-run --priority 2` names PRIORITY 2 (not the next one), and changes nothing."""
    result = cm(sandbox, "run", "--dry-run", "--priority", "2")
    assert result.returncode == 0 and "would work on PRIORITY 2" in result.stdout, result
    assert not (sandbox / ".coffee_maker" / "state.db").exists()
    unknown = cm(sandbox, "run", "--dry-run", "--priority", "42")
    assert unknown.returncode == 2 and "PRIORITY 42 is not a priority" in unknown.stderr


def test_daemon_does_not_start_an_undelimited_section(sandbox: Path) -> None:
    """An unclosed code fence in PRIORITY 1's section: the daemon logs the roadmap error and why nothing else is
    ready, and works on nothing — no agent sees the next priority's heading as part of its task."""
    set_config(sandbox / "coffee_maker.toml", "daemon", max_attempts=1)
    roadmap = sandbox / "docs" / "ROADMAP.md"
    text = roadmap.read_text()
    roadmap.write_text(text.replace("**Deliverables**:", "```python\nexample()\n\n**Deliverables**:", 1))
    result = cm(sandbox, "run", "--once")
    assert result.returncode == 0, result
    db = sandbox / ".coffee_maker" / "state.db"
    assert not db.exists() or StateStore(db).all() == []
    log = cm(sandbox, "logs", "-n", "100").stdout
    assert "the roadmap has errors" in log and "is never closed" in log
    assert "no planned priority is ready" in log and "cannot be delimited" in log
