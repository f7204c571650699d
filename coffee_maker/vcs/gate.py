"""The safety gate before every commit and push: real work, no protected paths, no secrets, tests green.

The cheap checks run first so a secret or an empty diff is reported without
waiting for the test suite; the test output is always kept for the dev log and
for the agent's next fix-up round.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Protocol

from coffee_maker import proc
from coffee_maker.config import LoadedConfig
from coffee_maker.environment import build_environment, git_stays_in
from coffee_maker.secrets import added_lines, scan
from coffee_maker.types import GateCheck, GateFailure, GateReport, Workspace
from coffee_maker.vcs.git import GitManager
from coffee_maker.words import count

#: Changes that do not count as work on their own.
NOT_WORK = ("*.lock", "package-lock.json", "poetry.lock", "uv.lock", "Pipfile.lock", "*.log",
            "interaction_logs/*", "docs/devlogs/*", ".coffee_maker/*", "coffee_maker.toml")


#: How many lines of the test output a failure shows (log, `status`, notices); the dev log has more.
TAIL_LINES = 5


def last_lines(output: str, count: int = TAIL_LINES) -> str:
    """`` Last lines of the output:`` and the last non-empty lines, indented; "" when there is no output."""
    lines = [line.rstrip() for line in output.strip().splitlines() if line.strip()][-count:]
    return (" Last lines of the output:\n" + "\n".join(f"    {line}" for line in lines)) if lines else ""


class Gate(Protocol):
    """Whether a workspace's changes may be committed (SafetyGate)."""

    def check(self, ws: Workspace) -> GateReport: ...


class SafetyGate:
    """Checks a workspace before every commit and push; settings come from [git]."""

    def __init__(self, loaded: LoadedConfig, git: GitManager) -> None:
        self.loaded = loaded
        self.settings = loaded.config.git
        self.git = git
        self.roadmap_rel = str(Path(loaded.roadmap_path).relative_to(loaded.repo)) \
            if Path(loaded.roadmap_path).is_relative_to(loaded.repo) else ""

    def _is_noise(self, path: str) -> bool:
        return path == self.roadmap_rel or any(fnmatch.fnmatch(path, pattern) for pattern in NOT_WORK)

    def check(self, ws: Workspace, *, run_tests: bool = True) -> GateReport:
        """The verdict on everything the branch changes relative to the default branch, committed or not.

        Failure kinds: ``no_real_work`` and ``protected_paths`` (the agent can fix them),
        ``secrets`` (the daemon escalates; the tests are not even run), ``tests`` (fix rounds).
        """
        uncommitted = self.git.changed_files(ws)
        files = self.git.files_vs_base(ws, uncommitted)
        issues: list[GateFailure] = []
        real = [f for f in files if not self._is_noise(f)]
        if not real:
            issues.append(GateFailure(GateCheck.NO_REAL_WORK, "No real work: nothing changed outside the roadmap, lock "
                                                      "files, logs and the daemon's own files."))
        protected = [f for f in files if any(fnmatch.fnmatch(f, p) for p in self.settings.protected_paths)]
        if protected:
            issues.append(GateFailure(GateCheck.PROTECTED_PATHS, f"Protected paths were changed: {', '.join(protected[:10])}."))
        findings = scan(self._added(ws, uncommitted), files, self.settings.secret_allowlist)
        if findings:
            issues.append(GateFailure(GateCheck.SECRETS, "Possible secrets: " + "; ".join(f.sentence() for f in findings[:10])
                                      + "."))
        output = ""
        command, timeout = self.settings.test_command, self.settings.test_timeout_s
        if run_tests and command and not findings:
            # The tests are code the agent wrote, and their output goes back to it: they run with the
            # agent's environment, never the daemon's credentials.
            agent = self.loaded.config.agent
            env = git_stays_in(ws.path, build_environment(pass_env=agent.pass_env, explicit=agent.env).env)
            result = proc.run(command, cwd=ws.path, shell=True, timeout=timeout, env=env)
            output = (result.stdout + ("\n" if result.stdout and result.stderr else "") + result.stderr).strip()
            if result.timed_out:
                issues.append(GateFailure(GateCheck.TESTS, f"The tests (`{command}`) timed out after {timeout:.0f}s."
                                          + last_lines(output)))
            elif result.returncode != 0:
                issues.append(GateFailure(GateCheck.TESTS, f"The tests (`{command}`) failed with exit code "
                                                   f"{result.returncode}." + last_lines(output)))
        failures = tuple(issue.sentence for issue in issues)
        summary = " ".join(failures) if failures else (
            f"{count(len(real), 'file')} changed; " + ("tests passed." if command and run_tests else "no tests run."))
        return GateReport(passed=not issues, summary=summary, test_output=output, secrets_found=bool(findings),
                          failures=failures, issues=tuple(issues))

    def _added(self, ws: Workspace, uncommitted: list[str]) -> list[tuple[str, int, str]]:
        diff = self.git._git("diff", "--no-color", "--no-ext-diff", "-U0", f"{self.git.remote}/{ws.base}",
                             "--", cwd=ws.path)
        lines = added_lines(diff)
        tracked = {path for path, _, _ in lines}
        for path in uncommitted:  # untracked files are not in `git diff`
            full = ws.path / path
            if path in tracked or not full.is_file():
                continue
            try:
                text = full.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            lines.extend((path, i, line) for i, line in enumerate(text.split("\n"), 1))
        return lines
