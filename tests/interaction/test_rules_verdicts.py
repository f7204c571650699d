"""The shipped defaults, request by request: exact verdicts for 97 risky and routine requests."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from coffee_maker.commands.rules_cmd import rules_check
from coffee_maker.config import load_config

CASES = [json.loads(line) for line in (Path(__file__).parent / "corpus_verdicts.jsonl").read_text().splitlines()
         if line.strip()]


def _verdicts(repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    (repo / "coffee_maker.toml").write_text('[git]\ntest_command = "make check-all"\n')
    lines = "".join(json.dumps({k: v for k, v in case.items() if k != "expect"}).replace("{repo}", str(repo)) + "\n"
                    for case in CASES)
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert rules_check(load_config(repo)) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


class TestRulesCheckCorpus:
    def test_corpus_size(self) -> None:
        """At least 60 requests, with risky and routine ones of both kinds."""
        assert len(CASES) >= 60
        assert sum(c["expect"] == "allow" for c in CASES) >= 20
        assert sum(c["expect"] in ("deny", "not_allow") for c in CASES) >= 30

    def test_every_verdict(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
        """Each request gets its expected verdict; risky ones are never allowed nor auto-answered."""
        wrong = []
        for case, out in zip(CASES, _verdicts(tmp_path, monkeypatch, capsys), strict=True):
            expect = case["expect"]
            got = out["decision"] if out["decision"] != "answer" else f"answer:{out['answer']}"
            ok = got != "allow" and not got.startswith("answer") if expect == "not_allow" else got == expect
            if not ok:
                wrong.append((case.get("tool") or case.get("question"), case.get("input"), expect, out))
        assert not wrong, "\n".join(map(str, wrong))

    def test_output_shape(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
        """Each output line carries decision, answer and the rule that decided."""
        for out in _verdicts(tmp_path, monkeypatch, capsys):
            assert {"decision", "answer", "rule"} <= set(out)
            assert out["decision"] in ("allow", "deny", "ask", "answer")
