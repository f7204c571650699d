"""The agent never holds the daemon's secrets: its environment is built, not inherited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffee_maker.agent.base import Limits
from coffee_maker.agent.claude import ClaudeCodeBackend
from coffee_maker.agent.generic_cli import GenericCliBackend
from coffee_maker.agent.scripted import ScriptedBackend
from coffee_maker.config.agent import AgentSettings
from coffee_maker.environment import build_environment, looks_like_credential
from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn

from .conftest import Recorder

#: What a daemon typically has exported: none of it may reach the agent or the commands its tools run.
DAEMON_SECRETS = {
    "GITHUB_TOKEN": "ghp_forge_token_value_1",
    "GH_TOKEN": "gho_forge_token_value_2",
    "GITLAB_TOKEN": "glpat-forge-token-value-3",
    "CM_FORGE": "forge-token-under-a-plain-name-4",  # a [forge] token_env that does not look like a secret
    "SLACK_BOT_TOKEN": "xoxb-slack-bot-token-5",
    "SLACK_APP_TOKEN": "xapp-slack-app-token-6",
    "LANGFUSE_SECRET_KEY": "sk-lf-langfuse-secret-7",
    "LANGFUSE_PUBLIC_KEY": "pk-lf-langfuse-public-8",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-access-key-9",
    "DATABASE_URL": "postgres://app:db-password-10@db.internal/app",
    "CLAUDE_CODE_SESSION_ACCESS_TOKEN": "claude-prefixed-token-11",  # allow-listed prefix, credential name
}


def _export_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DAEMON_SECRETS.items():
        monkeypatch.setenv(name, value)


def _leaks(text: str) -> list[str]:
    return [name for name, value in DAEMON_SECRETS.items() if value in text]


class TestBuildEnvironment:
    def test_basics_and_own_settings_pass_credentials_do_not(self) -> None:
        """PATH, HOME, locale, proxy and the CLI's settings pass; tokens, keys and unknown names do not."""
        source = {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "HTTPS_PROXY": "http://proxy:3128",
                  "CLAUDE_CODE_MAX_RETRIES": "0", "CLAUDE_CODE_OAUTH_TOKEN": "oauth", "CLAUDECODE": "1",
                  "MAX_THINKING_TOKENS": "1024", **DAEMON_SECRETS}
        built = build_environment(own=("CLAUDE_CODE_*", "MAX_THINKING_TOKENS"), source=source)
        assert built.env == {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "HTTPS_PROXY": "http://proxy:3128",
                             "CLAUDE_CODE_MAX_RETRIES": "0", "MAX_THINKING_TOKENS": "1024"}
        assert set(DAEMON_SECRETS) | {"CLAUDE_CODE_OAUTH_TOKEN"} <= set(built.withheld)
        assert "CLAUDECODE" not in built.withheld  # nesting markers are simply dropped

    def test_exact_names_pass_patterns_never_pass_credentials(self) -> None:
        """The CLI's own key and a name the person lists pass; a pattern cannot widen to a secret."""
        source = {"ANTHROPIC_API_KEY": "k", "MYAPP_MODE": "dev", "MYAPP_TOKEN": "t", "MYAPP_SECRET": "s"}
        built = build_environment(credentials=("ANTHROPIC_API_KEY",), pass_env=("MYAPP_*", "MYAPP_SECRET"),
                                  explicit={"EXTRA": "1"}, source=source)
        assert built.env == {"ANTHROPIC_API_KEY": "k", "MYAPP_MODE": "dev", "MYAPP_SECRET": "s", "EXTRA": "1"}
        assert built.withheld == ("MYAPP_TOKEN",)

    @pytest.mark.parametrize("name", ["GITHUB_TOKEN", "AWS_SESSION_TOKEN", "OPENAI_API_KEY", "STRIPE_APIKEY",
                                      "AWS_ACCESS_KEY_ID", "DB_PASSWORD", "SMTP_PASSWD", "MY_SECRET",
                                      "GOOGLE_APPLICATION_CREDENTIALS", "SENTRY_DSN", "SSH_AUTH_SOCK", "FORGE_PAT",
                                      "GPG_PRIVATE_KEY", "npm_config__auth"])
    def test_credential_looking_names(self, name: str) -> None:
        """Names that carry credentials are recognised whatever the tool that defined them."""
        assert looks_like_credential(name)

    @pytest.mark.parametrize("name", ["PATH", "PWD", "OLDPWD", "HOME", "MAX_THINKING_TOKENS", "DISABLE_AUTOUPDATER",
                                      "KEYBOARD_LAYOUT", "CLAUDE_CODE_MAX_OUTPUT_TOKENS", "LANG"])
    def test_ordinary_names(self, name: str) -> None:
        """Ordinary settings are not mistaken for credentials."""
        assert not looks_like_credential(name)


class TestBackends:
    def test_claude_subscription_keeps_its_login_drops_the_api_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Under auth = subscription only the CLI's OAuth token passes; under api_key only its API key."""
        _export_secrets(monkeypatch)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-key")
        monkeypatch.setenv("CLAUDE_CODE_OAUTH_TOKEN", "oauth-token")
        sub = ClaudeCodeBackend(AgentSettings.model_validate({"auth": "subscription"})).environment()
        assert "ANTHROPIC_API_KEY" not in sub and sub["CLAUDE_CODE_OAUTH_TOKEN"] == "oauth-token"
        key = ClaudeCodeBackend(AgentSettings.model_validate({"auth": "api_key"})).environment()
        assert key["ANTHROPIC_API_KEY"] == "sk-ant-key" and "CLAUDE_CODE_OAUTH_TOKEN" not in key
        assert _leaks(json.dumps(sub)) == [] and _leaks(json.dumps(key)) == []

    def test_generic_cli_command_sees_only_its_own_key(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """A configured CLI that prints its environment shows the preset's key and the person's names only."""
        _export_secrets(monkeypatch)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
        monkeypatch.setenv("PROJECT_FLAVOUR", "mint")
        settings = AgentSettings.model_validate({
            "backend": "envdump", "pass_env": ["PROJECT_FLAVOUR"], "env": {"SET_BY_CONFIG": "yes"},
            "cli": {"envdump": {"command": ["env"], "output": "text", "pass_env": ["OPENAI_API_KEY"]}}})
        rec = Recorder()
        outcome = GenericCliBackend("envdump", settings=settings, limits=Limits(idle_timeout_s=20)).run(
            "x", tmp_path, on_event=rec.on_event, decide=rec.decide)
        printed = outcome.final_text
        assert "PROJECT_FLAVOUR=mint" in printed and "SET_BY_CONFIG=yes" in printed
        assert "OPENAI_API_KEY=sk-openai" in printed
        assert _leaks(printed) == []

    def test_scripted_commands_run_without_the_daemons_secrets(self, monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
        """The scripted agent's Bash steps get the same built environment as a real agent's tools."""
        _export_secrets(monkeypatch)
        monkeypatch.setenv("PROJECT_FLAVOUR", "mint")
        settings = AgentSettings.model_validate({"backend": "scripted", "pass_env": ["PROJECT_FLAVOUR"]})
        agent = ScriptedBackend([{"run": "env"}, {"say": "done"}], settings=settings)
        rec = Recorder(allow=("Bash",))
        agent.run("x", tmp_path, on_event=rec.on_event, decide=rec.decide)
        results = " ".join(str(getattr(e, "content", "")) for e in rec.of("tool_result"))
        assert "PROJECT_FLAVOUR=mint" in results
        assert _leaks(results) == []


    def test_git_in_a_worktree_that_lost_its_git_never_reaches_the_persons_checkout(self, tmp_path: Path) -> None:
        """The worktrees live inside the person's checkout: without a .git, the agent's `git add -A` must fail
        there instead of staging the person's own files one directory up."""
        import subprocess

        person = tmp_path / "checkout"
        subprocess.run(["git", "init", "-q", str(person)], check=True)
        (person / "notes.txt").write_text("the person's uncommitted work\n")
        worktree = person / ".coffee_maker" / "worktrees" / "p1"
        worktree.mkdir(parents=True)  # re-created by the agent's next write after the worktree was removed
        agent = ScriptedBackend([{"run": "git add -A; git status --porcelain"}, {"say": "done"}])
        rec = Recorder(allow=("Bash",))
        agent.run("x", worktree, on_event=rec.on_event, decide=rec.decide)
        results = " ".join(str(getattr(e, "content", "")) for e in rec.of("tool_result"))
        assert "not a git repository" in results
        staged = subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=person, capture_output=True, text=True)
        assert staged.stdout == ""  # nothing of the person's was staged


@pytest.mark.claude_cli
def test_real_cli_env_dump_reaches_neither_the_model_nor_the_transcript(
        claude_bin: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _isolated_home: Path) -> None:
    """The real CLI runs `env` through its Bash tool (allowed here): no daemon secret is in the tool_result
    the fake API received, nor in the session transcript the CLI wrote."""
    _export_secrets(monkeypatch)
    monkeypatch.setenv("PROJECT_FLAVOUR", "mint")
    with FakeAnthropic([Turn.tool("Bash", {"command": "env", "description": "show the environment"}),
                        Turn.say("Done.")]) as api:
        for name, value in api.cli_env().items():  # the daemon's environment carries the CLI's settings
            monkeypatch.setenv(name, value)
        settings = AgentSettings.model_validate({"binary": claude_bin, "auth": "api_key",
                                                 "pass_env": ["PROJECT_FLAVOUR"]})
        rec = Recorder(allow=("Bash",))
        outcome = ClaudeCodeBackend(settings, limits=Limits(idle_timeout_s=30, total_timeout_s=90),
                                    kill_grace_s=2.0).run("Show me the environment.", tmp_path,
                                                          on_event=rec.on_event, decide=rec.decide)
        sent = json.dumps(api.requests)
    assert outcome.ok, outcome.reason
    assert "PROJECT_FLAVOUR=mint" in sent  # the env output did reach the model: the check below means something
    assert _leaks(sent) == []
    transcripts = list((_isolated_home / ".claude" / "projects").rglob("*.jsonl"))
    written = "\n".join(p.read_text() for p in transcripts)
    assert "PROJECT_FLAVOUR=mint" in written
    assert _leaks(written) == []


def test_doctor_names_what_the_agent_will_not_see(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`doctor` has an "agent env" row: how many variables pass, which are withheld (secrets first)."""
    from coffee_maker.cli import main
    from coffee_maker.demo import build_sandbox

    _export_secrets(monkeypatch)
    project = build_sandbox(tmp_path / "sandbox")
    main(["doctor", "--json", "--repo", str(project)])
    row = next(c for c in json.loads(capsys.readouterr().out)["checks"] if c["name"] == "agent env")
    assert row["status"] == "ok" and "withheld: " in row["detail"] and "pass_env" in row["fix"]
    shown = row["detail"].split("withheld: ")[1].split(" and ")[0].split(", ")
    assert len(shown) == 6 and all(looks_like_credential(name) for name in shown)  # the secrets come first
