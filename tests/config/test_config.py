"""Config loading: files, environment overrides, provenance, and clear errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from coffee_maker.cli import main
from coffee_maker.config import load_config
from coffee_maker.errors import ConfigError


class TestLoadConfig:
    def test_defaults_without_a_file(self, tmp_path: Path) -> None:
        """No file means defaults, labelled as such."""
        loaded = load_config(tmp_path)
        assert loaded.source is None
        assert loaded.config.roadmap.path == "docs/ROADMAP.md"
        assert loaded.origin("agent.max_turns") == "default"

    def test_coffee_maker_toml_wins_over_pyproject(self, tmp_path: Path) -> None:
        """coffee_maker.toml is read before [tool.coffee_maker] in pyproject.toml."""
        (tmp_path / "pyproject.toml").write_text("[tool.coffee_maker.agent]\nmax_turns = 3\n")
        assert load_config(tmp_path).config.agent.max_turns == 3
        assert load_config(tmp_path).origin("agent.max_turns") == "pyproject.toml [tool.coffee_maker]"
        (tmp_path / "coffee_maker.toml").write_text("[agent]\nmax_turns = 7\n")
        assert load_config(tmp_path).config.agent.max_turns == 7

    def test_environment_overrides_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """COFFEE_MAKER_SECTION__KEY beats the file, and config show says so."""
        (tmp_path / "coffee_maker.toml").write_text("[agent]\nmodel = 'sonnet'\n")
        monkeypatch.setenv("COFFEE_MAKER_AGENT__MODEL", "opus")
        loaded = load_config(tmp_path)
        assert loaded.config.agent.model == "opus"
        assert loaded.origin("agent.model") == "env COFFEE_MAKER_AGENT__MODEL"

    def test_unknown_key_names_key_and_file(self, tmp_path: Path) -> None:
        """A typo is an error naming the key and the file."""
        (tmp_path / "coffee_maker.toml").write_text("[agent]\nmax_turn = 3\n")
        with pytest.raises(ConfigError, match=r"Unknown key `agent.max_turn` in coffee_maker.toml"):
            load_config(tmp_path)

    def test_wrong_type_names_expected_type(self, tmp_path: Path) -> None:
        """A wrong type names the key, the file and the type expected."""
        (tmp_path / "coffee_maker.toml").write_text("[agent]\nmax_turns = 'ten'\n")
        with pytest.raises(ConfigError, match=r"`agent.max_turns` in coffee_maker.toml must be an integer"):
            load_config(tmp_path)

    def test_unknown_env_section(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """An env variable for a section that does not exist is named."""
        monkeypatch.setenv("COFFEE_MAKER_AGNET__MODEL", "x")
        with pytest.raises(ConfigError, match="COFFEE_MAKER_AGNET__MODEL"):
            load_config(tmp_path)

    def test_invalid_toml(self, tmp_path: Path) -> None:
        """Broken TOML is one sentence naming the file."""
        (tmp_path / "coffee_maker.toml").write_text("[agent\n")
        with pytest.raises(ConfigError, match="is not valid TOML"):
            load_config(tmp_path)


class TestConfigCommands:
    def test_check_reports_error_with_exit_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`config check` on a bad file exits 2 with the sentence, no traceback."""
        (tmp_path / "coffee_maker.toml").write_text("[agent]\nmax_turns = 'x'\n")
        assert main(["config", "check", "--repo", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "agent.max_turns" in err and "Traceback" not in err

    def test_show_json_has_sources(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`config show --json` lists every value with its source."""
        import json

        (tmp_path / "coffee_maker.toml").write_text("[agent]\nmax_turns = 9\n")
        assert main(["config", "show", "--json", "--repo", str(tmp_path)]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["values"]["agent.max_turns"] == {"value": 9, "source": "coffee_maker.toml"}
        assert data["values"]["agent.backend"]["source"] == "default"

    def test_init_writes_valid_starter_files(self, tmp_path: Path) -> None:
        """`init` writes a config that loads and a roadmap; a second run keeps them."""
        assert main(["init", "--repo", str(tmp_path)]) == 0
        assert (tmp_path / "coffee_maker.toml").read_text().startswith("# coffee_maker configuration")
        load_config(tmp_path)  # the commented starter is valid
        roadmap = (tmp_path / "docs" / "ROADMAP.md").read_text()
        assert "PRIORITY 1:" in roadmap
        (tmp_path / "docs" / "ROADMAP.md").write_text("mine")
        assert main(["init", "--repo", str(tmp_path)]) == 0
        assert (tmp_path / "docs" / "ROADMAP.md").read_text() == "mine"


class TestErrorBoundary:
    def test_unknown_command_is_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown command exits 2 with argparse's sentence."""
        assert main(["frobnicate"]) == 2

    def test_missing_repo_is_one_sentence(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A missing --repo is exit 2 and one line."""
        assert main(["config", "show", "--repo", str(tmp_path / "nope")]) == 2
        assert capsys.readouterr().err.strip().count("\n") == 0


def _cm(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command on the repository ``tmp_path``."""
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args, "--repo", str(tmp_path)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


class TestValidation:
    @pytest.mark.parametrize(("toml", "sentence"), [
        ("[daemon]\nmax_attempts = -1\n", "`daemon.max_attempts` in coffee_maker.toml must be at least 1, got -1."),
        ("[daemon]\nretry_delay_s = -5\n", "`daemon.retry_delay_s` in coffee_maker.toml must be at least 0, got -5."),
        ("[observe]\nlog_level = \"verbose\"\n",
         '`observe.log_level` in coffee_maker.toml must be one of "debug", "info", "warning", "error", got \'verbose\'.'),
        ("[forge]\nprovider = \"gitub\"\n",
         '`forge.provider` in coffee_maker.toml must be one of "auto", "github", "gh", "gitlab", "local", got'),
        ("[daemon]\nmax_atempts = 2\n", "Unknown key `daemon.max_atempts` in coffee_maker.toml. Did you mean "
                                         "`max_attempts`?"),
        ("[notfy]\n", "Unknown key `notfy` in coffee_maker.toml. Did you mean `notify`?"),
        ("[forge]\nrepository = \"justaname\"\n", "`forge.repository` in coffee_maker.toml should be owner/name as on "
                                                   "the forge (GitLab: group/…/name), not 'justaname'."),
        ("[daemon]\nclaim_namespace = \"claims\"\n", "`daemon.claim_namespace` in coffee_maker.toml should be a ref "
                                                     "prefix such as \"refs/coffee-maker\", not 'claims'."),
    ])
    def test_bad_values_are_refused_with_a_sentence(self, tmp_path: Path, toml: str, sentence: str) -> None:
        """Out-of-range numbers, unknown choices and typos are refused by `config check` (exit 2), readably."""
        (tmp_path / "coffee_maker.toml").write_text(toml)
        result = _cm(tmp_path, "config", "check")
        assert result.returncode == 2 and sentence in result.stderr, result.stderr
        assert "a valid value or" not in result.stderr and "Traceback" not in result.stderr

    def test_comma_separated_list_in_the_environment(self, tmp_path: Path) -> None:
        """COFFEE_MAKER_GIT__PROTECTED_BRANCHES=main,dev is a list of two branches; JSON works too."""
        for value in ("main,dev", '["main", "dev"]', "main, dev"):
            result = _cm(tmp_path, "config", "show", "--json", env={"COFFEE_MAKER_GIT__PROTECTED_BRANCHES": value})
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["values"]["git.protected_branches"]["value"] == ["main", "dev"]

    def test_a_table_in_the_environment_that_is_not_json(self, tmp_path: Path) -> None:
        """A table-valued override that is not JSON is one sentence giving the JSON form, not a crash."""
        result = _cm(tmp_path, "config", "check", env={"COFFEE_MAKER_AGENT__ENV": "A=1"})
        assert result.returncode == 2 and "COFFEE_MAKER_AGENT__ENV" in result.stderr and "JSON" in result.stderr
        assert "crash report" not in result.stderr

    def test_interactions_day_is_a_real_date(self, tmp_path: Path) -> None:
        """`interactions --day 2026-13-45` is refused with the format; a valid day is accepted."""
        bad = _cm(tmp_path, "interactions", "--day", "2026-13-45")
        assert bad.returncode == 2 and "--day must be a date written YYYY-MM-DD" in bad.stderr
        assert _cm(tmp_path, "interactions", "--day", "2026-01-31").returncode == 0


class TestStarterConfig:
    def test_every_line_uncommented_alone_stays_valid(self, tmp_path: Path) -> None:
        """Uncommenting any one `# key = value` line of the starter config gives valid TOML and a valid config."""
        from coffee_maker.config.starter import starter_config_text

        lines = starter_config_text().splitlines()
        keys = [i for i, line in enumerate(lines) if re.match(r"^# [a-z_]+ = ", line)]
        assert len(keys) > 40
        for index in keys:
            text = "\n".join(line[2:] if i == index else line for i, line in enumerate(lines))
            (tmp_path / "coffee_maker.toml").write_text(text)
            load_config(tmp_path)  # raises ConfigError on invalid TOML or value
        assert "see the documentation" not in "\n".join(lines)
        assert "`coffee-maker config show --all`" in "\n".join(lines)


class TestShow:
    def test_rules_are_summarised_and_all_lists_them(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`config show` fits on a screen or two (rules as a count); `--all` prints one row per rule."""
        assert main(["config", "show", "--repo", str(tmp_path)]) == 0
        short = capsys.readouterr().out
        assert "rules.permissions" in short and "entries (--all lists them)" in short
        assert "PermissionRule(" not in short and "rules.permissions[0]" not in short
        assert main(["config", "show", "--all", "--repo", str(tmp_path)]) == 0
        assert "rules.permissions[0]" in capsys.readouterr().out


def test_read_only_repository_is_one_sentence(tmp_path: Path) -> None:
    """A state directory that cannot be created names the directory and `[observe] state_dir`, no crash report."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ROADMAP.md").write_text("## PRIORITY 1: A\n**Status**: 📝 Planned\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    # sysfs refuses new entries for everyone, root included (tests run as root in CI): a place nobody can write.
    (tmp_path / "coffee_maker.toml").write_text('[observe]\nstate_dir = "/sys/coffee-maker-state"\n')
    result = _cm(tmp_path, "run", "--once")
    assert result.returncode != 0 and "Traceback" not in result.stderr and "crash report" not in result.stderr
    assert "/sys/coffee-maker-state" in result.stderr and "`[observe] state_dir`" in result.stderr
