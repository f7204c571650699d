"""`coffee-maker rules check` and `rules explain` through the real command, and malformed rules as sentences."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _cm(repo: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args, "--repo", str(repo)], input=stdin,
                          capture_output=True, text=True, timeout=60)


class TestRulesCommand:
    def test_check_shows_decision_rule_class_and_reason(self, tmp_path: Path) -> None:
        """Each request gets one line: decision, the request, rule · class · reason, and high severity when so."""
        stdin = "".join(json.dumps(r) + "\n" for r in (
            {"tool": "Bash", "input": {"command": "cd sub && pytest -q"}},
            {"tool": "Bash", "input": {"command": "terraform apply -auto-approve"}},
            {"question": "Should I commit the .env file?", "context": {"changes_valid": True}}))
        result = _cm(tmp_path, "rules", "check", stdin=stdin)
        assert result.returncode == 0, result.stderr
        allow, cloud, question = result.stdout.splitlines()
        assert allow.startswith("allow") and "tests" in allow
        assert cloud.startswith("ask") and "production-cloud · production/cloud · This acts on cloud" in cloud
        assert cloud.endswith("high severity")
        assert question.startswith("ask") and "q-secret · secret" in question

    def test_check_says_which_line_is_not_json_and_goes_on(self, tmp_path: Path) -> None:
        """A line that is not JSON gets a sentence naming it and what a line looks like (not the parser's bare
        words), the lines after it are still decided, and the exit code says something was not read."""
        result = _cm(tmp_path, "rules", "check", stdin='not json\n{"tool": "Bash", "input": {"command": "ls"}}\n')
        assert result.returncode == 2
        assert result.stderr.startswith("line 1 is not JSON (Expecting value at column 1); each line is one object")
        assert result.stdout.startswith("allow") and "Traceback" not in result.stderr

    def test_check_json_carries_class_reason_and_severity(self, tmp_path: Path) -> None:
        """`--json` gives machines the same fields."""
        result = _cm(tmp_path, "rules", "check", "--json",
                     stdin=json.dumps({"tool": "Bash", "input": {"command": "echo $GITHUB_TOKEN"}}) + "\n")
        out = json.loads(result.stdout)
        assert out["decision"] == "deny" and out["rule"] == "secret-variable" and out["class"] == "secret"
        assert "credential" in out["reason"] and out["severity"] == "normal"

    def test_explain_shows_the_parse_and_each_verdict(self, tmp_path: Path) -> None:
        """`rules explain` lists each simple command, its directory, paths, and the rule that decided it."""
        (tmp_path / "sub").mkdir()
        result = _cm(tmp_path, "rules", "explain", 'cd sub && FOO=1 timeout 60 pytest -q | tail -5; cat ~/.ssh/id_rsa')
        assert result.returncode == 0, result.stderr
        text = result.stdout
        assert "judged as: pytest -q   (without timeout)" in text and "runs in: sub" in text
        assert "reads  ~/.ssh/id_rsa" in text and "(OUTSIDE)" in text
        assert "decision: deny — rule secret-file-" in text and "class secret" in text

    def test_explain_shows_what_a_line_sets(self, tmp_path: Path) -> None:
        """What a statement sets and which variables change what runs (a statement's or a prefix's) are shown."""
        result = _cm(tmp_path, "rules", "explain", "export PATH=/tmp/x:$PATH && LD_PRELOAD=/tmp/y.so pytest")
        assert result.returncode == 0, result.stderr
        text = result.stdout
        assert "sets: PATH=/tmp/x:$PATH   (changes what later commands run: PATH)" in text
        assert "its prefix changes what it runs: LD_PRELOAD" in text
        assert "decision: ask — rule shaping-" in text

    def test_explain_json_and_unparseable(self, tmp_path: Path) -> None:
        """An unparseable command is asked about with the parser's reason."""
        result = _cm(tmp_path, "rules", "explain", "--json", 'echo "unterminated')
        data = json.loads(result.stdout)
        assert data["parse_error"].startswith("the shell parser could not read this command")
        assert data["verdict"]["decision"] == "ask" and data["verdict"]["rule"] == "unparseable-command"

    def test_explain_a_question(self, tmp_path: Path) -> None:
        """With no test command, "commit?" is answered with what the daemon does."""
        result = _cm(tmp_path, "rules", "explain", "--question", "Should I commit these changes?")
        assert "the daemon commits and pushes your work itself" in result.stdout

    @pytest.mark.parametrize(("config", "sentence"), [
        ('[[rules.extra_permissions]]\nname = "typo"\ntool = "Bsh"\ndecision = "allow"\n',
         "Rule 'typo' ([[rules.extra_permissions]] #1): names unknown tools ['Bsh'] in `tool`"),
        ('[[rules.extra_permissions]]\nname = "d"\ntool = "Bash"\ndecision = "alow"\n',
         "Rule 'd' ([[rules.extra_permissions]] #1): field `decision` — Input should be 'allow', 'deny' or 'ask'"),
        ('[[rules.extra_permissions]]\nname = "k"\ntool = "Bash"\ndecision = "ask"\nclass = "scary"\n',
         "Rule 'k' ([[rules.extra_permissions]] #1): field `class` — Input should be 'secret'"),
        ('[[rules.extra_permissions]]\nname = "c"\ntool = "Bash"\ncheck = "nope"\ndecision = "ask"\n',
         "Rule 'c' ([[rules.extra_permissions]] #1): names an unknown `check` 'nope'"),
        ('[[rules.question_risks]]\nname = "r"\npattern = "(x"\nclass = "secret"\nreason = "x"\n',
         "Rule 'r' ([[rules.question_risks]] #1): has a bad regular expression in `pattern`"),
    ])
    def test_a_malformed_rule_is_a_sentence_naming_rule_and_field(self, tmp_path: Path, config: str,
                                                                  sentence: str) -> None:
        """No traceback: one line naming the rule and its field, exit 2."""
        (tmp_path / "coffee_maker.toml").write_text(config)
        result = _cm(tmp_path, "rules", "check", stdin="")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert sentence in result.stderr, result.stderr
