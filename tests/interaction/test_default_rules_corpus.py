"""The shipped default rules against a corpus of risky and routine requests, through `rules check`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coffee_maker.config import load_config
from coffee_maker.errors import ConfigError
from coffee_maker.rules.engine import RuleEngine
from coffee_maker.rules.shell import split_command
from coffee_maker.types import DecisionKind, PermissionRequest, Question

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "corpus.jsonl").read_text().splitlines() if line]


def test_corpus_is_large_enough() -> None:
    """At least 60 requests, both kinds."""
    assert len(CORPUS) >= 60
    assert sum(1 for c in CORPUS if c.get("risky")) >= 30 and sum(1 for c in CORPUS if c.get("routine")) >= 20


def test_rules_check_over_the_corpus(tmp_path: Path) -> None:
    """Risky requests never come back `allow` (or an auto answer); routine ones never need a person."""
    (tmp_path / "coffee_maker.toml").write_text('[git]\ntest_command = "pytest -q"\n')
    stdin = "".join(json.dumps({k: v for k, v in c.items() if k not in ("risky", "routine")}) + "\n" for c in CORPUS)
    result = subprocess.run([sys.executable, "-m", "coffee_maker", "rules", "check", "--json", "--repo", str(tmp_path)],
                            input=stdin, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(decisions) == len(CORPUS)
    for case, out in zip(CORPUS, decisions, strict=True):
        assert {"decision", "rule"} <= set(out)
        if case.get("risky"):
            assert out["decision"] in ("deny", "ask"), (case, out)
        else:
            assert out["decision"] in ("allow", "answer"), (case, out)
            if "question" in case:
                assert out["answer"] == "yes"


class TestEngine:
    def _engine(self, tmp_path: Path, config: str = "") -> RuleEngine:
        (tmp_path / "coffee_maker.toml").write_text(config)
        loaded = load_config(tmp_path)
        return RuleEngine(loaded.config.rules, root=tmp_path, test_command=loaded.config.git.test_command)

    def test_guard_unmet_falls_through_to_a_person(self, tmp_path: Path) -> None:
        """'continue?' is answered only when the tests passed; otherwise a person is asked."""
        engine = self._engine(tmp_path)
        assert engine.evaluate(Question("Continue?"), {"tests_passed": True}).answer == "yes"
        assert engine.evaluate(Question("Continue?"), {"tests_passed": False}).kind is DecisionKind.ASK

    def test_user_rules_come_first(self, tmp_path: Path) -> None:
        """A configured extra rule overrides the default for its case."""
        engine = self._engine(tmp_path, '[[rules.extra_permissions]]\nname = "npm-ok"\ntool = "Bash"\n'
                                        'command = "^npm install$"\ndecision = "allow"\n')
        assert engine.evaluate(PermissionRequest("Bash", {"command": "npm install"})).source.label() == "rule:npm-ok"

    @pytest.mark.parametrize(("config", "message"), [
        ('[[rules.extra_questions]]\nname = "bad"\npattern = "(unclosed"\nanswer = "x"\n', r"'bad'.*(regular expression|regex)"),
        ('[[rules.extra_permissions]]\nname = "typo"\ntool = "Bsh"\ndecision = "allow"\n', r"'typo'.*unknown tool"),
        ('[[rules.extra_questions]]\nname = "f"\npattern = "x"\nanswer = "y"\nwhen = {tests_green = true}\n', r"'f'.*unknown facts"),
    ])
    def test_bad_rules_are_named(self, tmp_path: Path, config: str, message: str) -> None:
        """A bad regex, an unknown tool or an unknown fact is an error naming the rule."""
        with pytest.raises(ConfigError, match=message):
            self._engine(tmp_path, config)

    def test_split_command(self) -> None:
        """Chains, pipes and substitutions are split into simple commands, a substitution before its command."""
        assert split_command("A=1 pytest -q && echo $(cat x) | wc -l; ls") == [
            "A=1 pytest -q", "cat x", "echo $(cat x)", "wc -l", "ls"]
