"""A demo sandbox with many small priorities, for the lanes tests and `bench/bench_lanes.py`
(beside `demo.py`, not in `testing/`: it builds on the demo, which imports `testing`).

Each priority's scripted agent works ``work_s`` seconds, then writes one module and its test;
the ones named in ``asking`` first ask the demo's question that only a person may answer, so
their lane waits for `coffee-maker answer` (or ``answer_first_question``) while the others go on.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Collection, Mapping
from pathlib import Path

from coffee_maker.config import load_config
from coffee_maker.demo import build_sandbox
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.daemon_run import DEMO_ANSWER

#: The demo's escalated question: the rules send anything about an API key to a person.
PERSON_QUESTION = "Which API key should I use for the forecast service, or should summarize() stay offline?"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def priority_script(n: int, *, work_s: float, asks: bool, extra: Mapping[str, object] | None = None) -> dict[str, object]:
    steps: list[dict[str, object]] = [{"say": f"Working on part {n}.", "turns": 1, "cost": 0.01}]
    if asks:
        steps.append({"ask": PERSON_QUESTION, "options": ["offline", "FORECAST_API_KEY"], "save_as": "api_key",
                      "branches": {"*": [{"say": "Staying offline."}]}})
    if work_s > 0:
        steps.append({"sleep": work_s})
    steps += [
        {"write": f"weather/part{n}.py", "content": f'"""Part {n}."""\n\nVALUE = {n}\n'},
        {"write": f"tests/test_part{n}.py", "content": (
            f"import unittest\n\nfrom weather.part{n} import VALUE\n\n\nclass Part{n}Test(unittest.TestCase):\n"
            f"    def test_value(self) -> None:\n        self.assertEqual(VALUE, {n})\n")},
        {"result": f"Added part {n}.\n\n- [x] `weather/part{n}.py`\n- [x] Unit test in `tests/test_part{n}.py`"},
    ]
    return {"session_id": f"lanes-{n}", "model": "scripted-lanes", "steps": steps, **(extra or {})}


def clashing_script(n: int, *, work_s: float) -> dict[str, object]:
    """PRIORITY ``n``'s agent rewrites part 1's module instead of adding its own: its branch conflicts with
    PRIORITY 1's (the conflict tests and the merge check)."""
    script = priority_script(n, work_s=work_s, asks=False)
    script["steps"] = [{"sleep": work_s}, {"write": "weather/part1.py", "content": f'"""Part 1, rewritten."""\n\nVALUE = {n}\n'},
                       {"write": f"tests/test_part{n}.py", "content": (
                           f"import unittest\n\nfrom weather.part1 import VALUE\n\n\nclass Part{n}Test(unittest.TestCase):\n"
                           f"    def test_value(self) -> None:\n        self.assertEqual(VALUE, {n})\n")},
                       {"result": f"Rewrote part 1.\n\n- [x] `weather/part{n}.py`"}]
    return script


def build_lanes_sandbox(root: Path, *, count: int, lanes: int, work_s: float = 0.0,
                        asking: Collection[int] = (), depends: Mapping[int, int] | None = None) -> Path:
    """A sandbox with PRIORITY 1..``count``; ``depends`` maps n → the priority n depends on. Returns the project."""
    project = build_sandbox(root)
    depends = depends or {}
    sections = ["# Lanes sandbox roadmap\n\n## Technology selection\n\n- Python 3.11 standard library only.\n"]
    for n in range(1, count + 1):
        dependency = f"**Dependencies**: PRIORITY {depends[n]}\n" if n in depends else ""
        sections.append(f"## PRIORITY {n}: Part {n}\n\n**Status**: 📝 Planned\n{dependency}\nAdd part {n}.\n\n"
                        f"**Deliverables**:\n- [ ] `weather/part{n}.py`\n- [ ] Unit test in `tests/test_part{n}.py`\n")
    (project / "docs" / "ROADMAP.md").write_text("\n".join(sections))
    scripts = root / "agent-scripts"
    for old in scripts.glob("*.json"):
        old.unlink()
    for n in range(1, count + 1):
        script = priority_script(n, work_s=work_s, asks=n in asking)
        (scripts / f"priority-{n}.json").write_text(json.dumps(script))
    _git(project, "commit", "-qam", f"docs: plan {count} priorities")
    _git(project, "push", "-q", "origin", "main")
    set_config(project / "coffee_maker.toml", "daemon", lanes=lanes)
    return project


def answer_first_question(project: Path, answer: str = DEMO_ANSWER) -> bool:
    """Answer the oldest question waiting for a person, as `coffee-maker answer` does; False when none waits."""
    from coffee_maker.notify.inbox import Inbox

    path = load_config(project).layout.inbox_db
    if not path.exists():
        return False
    inbox = Inbox(path)
    try:
        waiting = inbox.waiting()
        return bool(waiting) and inbox.answer(waiting[0].id, answer, who="cli:lanes-test", channel="cli")
    finally:
        inbox.close()
