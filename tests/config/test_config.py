"""Config loading: files, environment overrides, provenance, and clear errors."""

from __future__ import annotations

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
