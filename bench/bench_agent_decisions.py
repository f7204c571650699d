"""Decision latency: a can_use_tool request line → the control_response written back.

A fake `claude` (a small Python program speaking the same stream-json protocol) sends
1,000 permission requests one after another through the real ClaudeCodeBackend, whose
decision callback is a rule-based RuleDecider (`Bash(pytest:*)` allowed, the rest
denied). The fake stamps each request just before writing it and reads the response
with the same monotonic clock, so each sample is the full round trip: pipe to us,
parse, hand-off to the decision worker, the rule check, back to the loop, the
response written, and the pipe back. Target: p99 <= 5 ms.

    .venv/bin/python bench/bench_agent_decisions.py [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import textwrap
from pathlib import Path

from _percentiles import describe_ms  # noqa: E402 — a sibling module of these scripts

from coffee_maker.agent.base import Limits
from coffee_maker.agent.claude import ClaudeCodeBackend
from coffee_maker.config.agent import AgentSettings
from coffee_maker.rules.claude_syntax import RuleDecider

FAKE = textwrap.dedent('''\
    #!{python}
    import json, sys, time
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 1000
    out = sys.stdout
    sys.stdin.readline()  # the user message
    out.write(json.dumps({{"type": "system", "subtype": "init", "session_id": "bench"}}) + "\\n"); out.flush()
    samples = []
    for i in range(n):
        cmd = "pytest -q" if i % 2 else "rm -rf build"
        line = json.dumps({{"type": "control_request", "request_id": f"r{{i}}", "request": {{
            "subtype": "can_use_tool", "tool_name": "Bash", "input": {{"command": cmd}},
            "permission_suggestions": [], "tool_use_id": f"t{{i}}"}}}}) + "\\n"
        start = time.monotonic_ns()
        out.write(line); out.flush()
        reply = json.loads(sys.stdin.readline())
        samples.append(time.monotonic_ns() - start)
        assert reply["response"]["request_id"] == f"r{{i}}"
    with open(sys.argv[sys.argv.index("--samples") + 1], "w") as fh:
        json.dump(samples, fh)
    out.write(json.dumps({{"type": "result", "subtype": "success", "is_error": False, "result": "ok",
                           "session_id": "bench", "num_turns": 1, "total_cost_usd": 0}}) + "\\n"); out.flush()
''')


def main(n: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fake = Path(tmp) / "claude"
        fake.write_text(FAKE.format(python=sys.executable))
        fake.chmod(0o755)
        samples_file = Path(tmp) / "samples.json"
        settings = AgentSettings.model_validate({
            "binary": str(fake), "auth": "api_key", "extra_args": ["--n", str(n), "--samples", str(samples_file)]})
        backend = ClaudeCodeBackend(settings, limits=Limits(idle_timeout_s=30, total_timeout_s=120))
        decide = RuleDecider(allow=["Bash(pytest:*)"])
        outcome = backend.run("bench", tmp, on_event=lambda e: None, decide=decide)
        assert outcome.ok, outcome.reason
        samples_ms = sorted(s / 1e6 for s in json.loads(samples_file.read_text()))
    print(f"decision round trip: {describe_ms([s / 1000 for s in samples_ms], 3)} (target p99 <= 5 ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
