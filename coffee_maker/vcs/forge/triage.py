"""Tell CI failures apart before an agent run is spent on one.

- **infrastructure**: the job never got to judge the code — cancelled, a startup failure,
  a runner lost or out of disk, GitLab's ``runner_system_failure`` and friends, or a time-out
  before any test ran. Re-run it once; it never costs a fix round.
- **flaky**: it failed, and the re-run of the same commit passed. Nothing to fix.
- **unrelated**: the log names source files, and none of them is (or sits next to) a file
  the branch changed — e.g. a link checker failing on docs the branch never touched. Reported to
  the person, not "fixed". The heuristic is deliberately narrow: a log that names no files, or
  names one the branch changed, or a check whose name names a changed top-level directory
  (``docs`` for ``docs/x.md``), is treated as related.
- **real**: everything else; the agent gets the log excerpt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import PurePosixPath

from coffee_maker.types import CheckConclusion, CheckRun, LogExcerpt


class FailureKind(StrEnum):
    INFRASTRUCTURE = "infrastructure"
    FLAKY = "flaky"
    UNRELATED = "unrelated"
    REAL = "real"


# GitLab job failure_reason values that mean the runner, not the code, failed.
GITLAB_INFRASTRUCTURE = frozenset({
    "runner_system_failure", "stuck_or_timeout_failure", "api_failure", "scheduler_failure",
    "data_integrity_failure", "runner_unsupported", "stale_schedule", "job_execution_timeout",
    "archived_failure", "unmet_prerequisites", "forward_deployment_failure"})
_RUNNER_LOST = re.compile(
    r"lost communication with the server|runner has received a shutdown signal|The operation was canceled|"
    r"No space left on device|Runner (?:is )?(?:offline|unavailable)|context deadline exceeded|"
    r"Error response from daemon|Could not resolve host|Connection reset by peer|TLS handshake timeout|"
    r"exceeded the maximum execution time|ERROR: Preparation failed|Received request to deprovision", re.IGNORECASE)
# Signs that tests or a build actually ran: a time-out after them is a real (slow or hanging) failure.
_TESTS_RAN = re.compile(r"\bcollected \d+ items|\b\d+ (?:passed|failed)\b|^(?:PASS|FAIL|ok|---) |\bTests? run:|"
                        r"\brunning \d+ tests?|Traceback \(most recent call last\)|\bFAILED\b", re.MULTILINE)
_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.(?:py|pyi|js|jsx|ts|tsx|go|rs|rb|java|kt|c|h|cc|cpp|hpp|cs|"
                   r"php|swift|scala|md|rst|toml|ya?ml|json|cfg|ini|sh|css|scss|html|sql))(?::\d+)?\b")
_GENERIC = frozenset({"test", "tests", "build", "lint", "check", "checks", "ci", "job", "run", "python", "node",
                      "ubuntu", "latest", "macos", "windows", "main", "pr", "push", "all", "unit", "integration"})


def classify_failure(check: CheckRun, log: LogExcerpt | None, changed_files: Sequence[str], *,
                     rerun_passed: bool | None = None) -> FailureKind:
    """What kind of failure ``check`` is, from its conclusion, its log excerpt and the branch's changed files.

    ``rerun_passed`` is what a re-run of the same commit did (None: not re-run yet).
    """
    text = log.excerpt if log is not None else ""
    if rerun_passed:
        return FailureKind.FLAKY
    if is_infrastructure(check, text):
        return FailureKind.INFRASTRUCTURE
    if is_unrelated(check.name, text, changed_files):
        return FailureKind.UNRELATED
    return FailureKind.REAL


def is_infrastructure(check: CheckRun, log_text: str) -> bool:
    """The job failed for a reason outside the code: it was stopped, never started, or lost its runner."""
    if check.conclusion in (CheckConclusion.CANCELLED, CheckConclusion.STARTUP_FAILURE, CheckConclusion.STALE):
        return True
    if check.failure_reason in GITLAB_INFRASTRUCTURE:
        return True
    if check.conclusion is CheckConclusion.TIMED_OUT and not _TESTS_RAN.search(log_text):
        return True
    return bool(_RUNNER_LOST.search(log_text))


def paths_in(text: str) -> set[str]:
    """Relative source paths a log names (``src/app/x.py:12`` → ``src/app/x.py``), absolute prefixes dropped."""
    found = set()
    for match in _PATH.finditer(text):
        path = match.group(1).lstrip("./")
        if "site-packages/" in path or "/usr/lib/" in path or path.startswith(("usr/", "opt/hostedtoolcache")):
            continue  # a library's frame, not the project's file
        found.add(path)
    return found


def is_unrelated(check_name: str, log_text: str, changed_files: Sequence[str]) -> bool:
    """Whether the failure concerns files the branch did not change (see the module docstring)."""
    if not changed_files:
        return False
    changed = [PurePosixPath(f) for f in changed_files]
    top_dirs = {p.parts[0].lower() for p in changed if len(p.parts) > 1}
    words = {w for w in re.split(r"[^a-z0-9]+", check_name.lower()) if len(w) >= 3 and w not in _GENERIC}
    if words & top_dirs:
        return False
    named = paths_in(log_text)
    if not named:
        return False
    return not any(_touches(PurePosixPath(path), changed) for path in named)


def _touches(path: PurePosixPath, changed: Sequence[PurePosixPath]) -> bool:
    """A named path is a changed file (the log may show it from a deeper working directory), or its sibling."""
    for c in changed:
        if path == c or str(path).endswith("/" + str(c)) or str(c).endswith("/" + str(path)):
            return True
        if path.parent == c.parent and str(path.parent) not in ("", "."):
            return True
    return False
