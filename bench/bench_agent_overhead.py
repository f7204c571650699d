"""Overhead of the whole Claude Code backend over the bare CLI, on the same scripted session.

Each run plays the same 3-turn session (a Write, a Bash command, a final text) from the
fake Anthropic API, once through ClaudeCodeBackend (stream-json both ways, both tool
calls sent to a rule-based decision callback that allows them) and once as the bare
CLI (`claude -p … --output-format stream-json --verbose --dangerously-skip-permissions`,
IS_SANDBOX=1, no permission round trips). Runs alternate; the ratio of the medians is
reported. Target: <= 1.10. Needs `make claude-cli` (or CM_TEST_CLAUDE_BIN).

    .venv/bin/python bench/bench_agent_overhead.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coffee_maker import proc
from coffee_maker.agent.base import Limits
from coffee_maker.agent.claude import ClaudeCodeBackend
from coffee_maker.config.agent import AgentSettings
from coffee_maker.rules.claude_syntax import RuleDecider
from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn

REPO = Path(__file__).resolve().parents[1]


def turns(cwd: Path) -> list[Turn]:
    return [Turn.tool("Write", {"file_path": str(cwd / "app.py"), "content": "print('hi')\n"}),
            Turn.tool("Bash", {"command": "python3 app.py > out.txt", "description": "run"}),
            Turn.say("Done.")]


def run_backend(binary: str, home: Path) -> float:
    cwd = Path(tempfile.mkdtemp(dir=home))
    with FakeAnthropic(turns(cwd)) as api:
        settings = AgentSettings.model_validate({"binary": binary, "auth": "api_key"})
        backend = ClaudeCodeBackend(settings, env=api.cli_env(HOME=str(home)), limits=Limits(idle_timeout_s=60))
        decide = RuleDecider(allow=["Write", "Bash(python3:*)"], cwd=cwd)
        start = time.perf_counter()
        outcome = backend.run("Write app.py and run it", cwd, on_event=lambda e: None, decide=decide)
        elapsed = time.perf_counter() - start
    assert outcome.ok and (cwd / "out.txt").read_text() == "hi\n", outcome.reason
    return elapsed


def run_bare(binary: str, home: Path) -> float:
    cwd = Path(tempfile.mkdtemp(dir=home))
    with FakeAnthropic(turns(cwd)) as api:
        env = proc.child_env(api.cli_env(HOME=str(home), IS_SANDBOX="1"))
        argv = [binary, "-p", "Write app.py and run it", "--output-format", "stream-json", "--verbose",
                "--dangerously-skip-permissions"]
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=60)
        elapsed = time.perf_counter() - start
    assert done.returncode == 0 and (cwd / "out.txt").read_text() == "hi\n", done.stderr[-500:]
    return elapsed


def main(n: int = 9) -> None:
    binary = os.environ.get("CM_TEST_CLAUDE_BIN") or str(REPO / ".tools/claude-code/node_modules/.bin/claude")
    if not Path(binary).exists():
        sys.exit("the Claude Code CLI is missing: run `make claude-cli`")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        run_backend(binary, home), run_bare(binary, home)  # warm the page cache
        ours, bare = [], []
        for _ in range(n):
            ours.append(run_backend(binary, home))
            bare.append(run_bare(binary, home))
    m_ours, m_bare = statistics.median(ours), statistics.median(bare)
    print(f"backend: median {m_ours:.3f} s, bare CLI: median {m_bare:.3f} s over {n} runs each")
    print(f"overhead ratio (backend / bare): {m_ours / m_bare:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
