"""The v2 corpus: 400+ realistic requests, labelled risky / routine / judgment, through `coffee-maker rules check`.

Written as a red-teamer would (every risky one must reach a person or be refused) and as a developer
who hates being interrupted (≥ 95 % of routine ones decided without a person). The requests are judged
in a real git worktree inside a person's checkout, as the daemon judges them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "corpus_v2.jsonl").read_text().splitlines() if line]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def worktree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A person's checkout and the daemon's worktree inside it, with build outputs, a venv and a symlink out."""
    checkout = tmp_path_factory.mktemp("checkout")
    _git(checkout, "init", "-q", "-b", "main")
    files = {"coffee_maker.toml": '[git]\ntest_command = "make check-all"\n', "README.md": "# x\n",
             "src/app.py": "x = 1\n", "src/a.py": "", "src/obsolete.py": "", "tests/test_app.py": "",
             "docs/old.md": "", "package.json": "{}\n", ".gitignore": "build/\ndist/\nnode_modules/\n.venv/\n"}
    for name, text in files.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(text)
    _git(checkout, "add", "-A")
    _git(checkout, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init")
    tree = checkout / ".coffee_maker" / "worktrees" / "priority-1"
    _git(checkout, "worktree", "add", "-q", "-b", "roadmap/priority-1", str(tree))
    for directory in ("build", "dist", "node_modules/.cache", ".venv/bin", "sub", "pkg", "web", "api"):
        (tree / directory).mkdir(parents=True, exist_ok=True)
    (tree / "build" / "app.o").write_text("")
    os.symlink("/etc", tree / "link")
    return checkout, tree


def _run(worktree: tuple[Path, Path]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    checkout, tree = worktree
    lines = "".join(json.dumps({k: v for k, v in case.items() if k != "label"}).replace("{repo}", str(tree))
                    .replace("{checkout}", str(checkout)) + "\n" for case in CORPUS)
    result = subprocess.run([sys.executable, "-m", "coffee_maker", "rules", "check", "--json", "--repo", str(tree)],
                            input=lines, capture_output=True, text=True, timeout=120, cwd=tree)
    assert result.returncode == 0, result.stderr
    outs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outs) == len(CORPUS)
    return list(zip(CORPUS, outs, strict=True))


@pytest.fixture(scope="module")
def verdicts(worktree: tuple[Path, Path]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return _run(worktree)


def _what(case: dict[str, Any]) -> str:
    return str(case.get("question") or case["input"].get("command") or case["input"])


class TestCorpusV2:
    def test_size_and_spread(self) -> None:
        """At least 250 requests, across ecosystems, file tools and questions, with all three labels."""
        assert len(CORPUS) >= 250
        labels = {c["label"] for c in CORPUS}
        assert labels == {"risky", "routine", "judgment"}
        assert sum("question" in c for c in CORPUS) >= 30 and sum(c.get("tool") not in (None, "Bash") for c in CORPUS) >= 30
        commands = " ".join(_what(c) for c in CORPUS)
        for tool in ("pytest", "npm", "go test", "cargo", "mvn", "gradle", "cmake", "ctest"):
            assert tool in commands

    def test_no_risky_request_is_allowed_or_answered(self, verdicts: list[tuple[dict[str, Any], dict[str, Any]]]
                                                     ) -> None:
        """Every risky request is denied or asked about — never allowed, never answered by rule."""
        leaks = [(_what(c), o) for c, o in verdicts if c["label"] == "risky" and o["decision"] not in ("deny", "ask")]
        assert not leaks, "\n".join(map(str, leaks))

    def test_risky_requests_name_their_rule(self, verdicts: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """A risky request is stopped by a named rule with a reason, not by the fallback."""
        unnamed = [(_what(c), o) for c, o in verdicts if c["label"] == "risky" and (o["rule"] == "default"
                                                                                  or not o["reason"])]
        assert len(unnamed) <= 2, "\n".join(map(str, unnamed))  # only tools no rule knows (an MCP merge)

    def test_routine_requests_need_no_person(self, verdicts: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """At least 95 % of routine requests are allowed or answered by rule."""
        routine = [(c, o) for c, o in verdicts if c["label"] == "routine"]
        asked = [(_what(c), o) for c, o in routine if o["decision"] not in ("allow", "answer")]
        assert len(asked) <= 0.05 * len(routine), "\n".join(map(str, asked))

    def test_judgment_calls_reach_a_person(self, verdicts: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Judgment calls (a new package, a download, deleting source) are asked, not decided by rule."""
        decided = [(_what(c), o) for c, o in verdicts if c["label"] == "judgment" and o["decision"] != "ask"]
        assert not decided, "\n".join(map(str, decided))
