"""Frozen values shared by the layers: roadmap, agent, interaction, vcs, daemon.

Nothing here imports the rest of the package; every layer can import this.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------- roadmap


class Status(StrEnum):
    """A priority's normalised status."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    COMPLETE = "complete"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Deliverable:
    """A checkbox item in a priority's section (`- [ ] text` / `- [x] text`)."""

    text: str
    checked: bool
    line: int  # 1-based line number in the roadmap file


@dataclass(frozen=True)
class RoadmapWarning:
    """Something odd in the roadmap, never fatal."""

    line: int
    kind: str  # status_mismatch | duplicate_id | unknown_status | unclosed_fence | …
    message: str


@dataclass(frozen=True)
class Priority:
    """One priority of the roadmap: a `PRIORITY <n>:` or `US-<n>:` heading and its section."""

    id: str  # "PRIORITY 2.5", "US-062"
    title: str
    line: int  # 1-based line of the heading
    end_line: int  # 1-based last line of the section (inclusive)
    level: int  # heading level, 2..4
    status: Status
    status_text: str  # the original text the status was read from
    status_line: int | None  # line of the `**Status**:` line, None when read from the heading
    deliverables: tuple[Deliverable, ...] = ()
    dependencies: tuple[str, ...] = ()
    text: str = ""  # the whole section, heading included

    @property
    def slug(self) -> str:
        """`PRIORITY 2.5` + `New User Experience` → `priority-2-5-new-user-experience`."""
        raw = f"{self.id} {self.title}".lower()
        slug = re.sub(r"[^a-z0-9]+", "-", raw).strip("-")
        if len(slug) <= 60:
            return slug
        # Cut at a word boundary: `…-summary-of-the-forec` in a branch name reads as a typo.
        cut = slug[:61]
        return cut[: cut.rfind("-")] if cut.rfind("-") > 20 else slug[:60].rstrip("-")

    @property
    def id_slug(self) -> str:
        """`PRIORITY 2.5` → `priority-2.5` (used in commit scopes)."""
        return re.sub(r"\s+", "-", self.id.lower())

    @property
    def deliverables_done(self) -> int:
        return sum(1 for d in self.deliverables if d.checked)


# --------------------------------------------------------------------------- agent ↔ handler


@dataclass(frozen=True)
class PermissionRequest:
    """The agent asks to use a tool (Claude Code's `can_use_tool` control request)."""

    tool: str
    input: Mapping[str, Any]
    tool_use_id: str | None = None
    suggestions: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Question:
    """The agent asks a question (AskUserQuestion tool, or a final text that ends by asking)."""

    text: str
    options: tuple[str, ...] = ()
    source: str = "final_text"  # final_text | ask_user_question | daemon
    context: Mapping[str, Any] = field(default_factory=dict)


class DecisionKind(StrEnum):
    ALLOW = "allow"  # permission granted (possibly with updated input)
    DENY = "deny"  # permission refused, with a message the model sees
    ANSWER = "answer"  # a question answered with text
    ASK = "ask"  # only from a dry rule check: a person would be asked


class SourceKind(StrEnum):
    """Who or what decided a request; the value is how a label starts."""

    RULE = "rule"  # a configured, learned or command-line rule
    ESCALATE = "escalate"  # the rules send it to a person: an escalation pattern matched
    PERSON = "person"  # a person answered on a channel
    TIMEOUT = "timeout_default"  # nobody answered in time, or nobody was reachable: the safe default
    DEFAULT = "default"  # no rule decided: the configured default
    STOPPED = "stopped"  # the daemon stopped before anyone answered
    CALLBACK_TIMEOUT = "callback_timeout"  # the decision callback did not return in time
    CALLBACK_ERROR = "callback_error"  # the decision callback raised
    OTHER = "other"  # a caller's own name (test doubles, scripted deciders): ``detail`` is the label


#: Kinds whose label carries a name after a colon.
_NAMED_SOURCES = (SourceKind.RULE, SourceKind.ESCALATE, SourceKind.PERSON)


@dataclass(frozen=True)
class DecisionSource:
    """Where a decision came from, typed; ``label()`` is its one written form (logs, dev log, PR body, JSON).

    ``detail`` is the rule's name (RULE), the escalation pattern (ESCALATE), the label (OTHER);
    ``channel`` and ``who`` say which person answered where (PERSON).
    """

    kind: SourceKind
    detail: str | None = None
    channel: str | None = None
    who: str | None = None

    @classmethod
    def rule(cls, name: str) -> DecisionSource:
        return cls(SourceKind.RULE, detail=name)

    @classmethod
    def escalate(cls, pattern: str) -> DecisionSource:
        return cls(SourceKind.ESCALATE, detail=pattern)

    @classmethod
    def person(cls, channel: str, who: str) -> DecisionSource:
        return cls(SourceKind.PERSON, channel=channel, who=who)

    @classmethod
    def parse(cls, label: str) -> DecisionSource:
        """The source a stored label was written from (interaction logs, saved attempt snapshots)."""
        head, sep, rest = label.partition(":")
        kind = next((k for k in SourceKind if k.value == head), SourceKind.OTHER)
        if kind is SourceKind.PERSON and sep:
            channel, _, who = rest.partition(":")
            return cls.person(channel, who)
        if kind in _NAMED_SOURCES and sep:
            return cls(kind, detail=rest)
        if kind not in _NAMED_SOURCES and kind is not SourceKind.OTHER and not sep:
            return cls(kind)
        return cls(SourceKind.OTHER, detail=label)

    @property
    def rule_name(self) -> str | None:
        """The deciding rule's name, when a rule decided."""
        return self.detail if self.kind is SourceKind.RULE else None

    @property
    def name(self) -> str:
        """What decided, without the kind: the rule, the pattern, ``channel:who``, or the label itself."""
        if self.kind is SourceKind.PERSON:
            return f"{self.channel}:{self.who}"
        return (self.detail or "") if self.kind in _NAMED_SOURCES else self.label()

    @property
    def asked_a_person(self) -> bool:
        """A person was asked (they answered, or the safe default stood in for them)."""
        return self.kind in (SourceKind.PERSON, SourceKind.TIMEOUT)

    def label(self) -> str:
        """``rule:<name>``, ``escalate:<pattern>``, ``person:<channel>:<who>``, ``timeout_default``, ``default``…"""
        if self.kind is SourceKind.OTHER:
            return self.detail or ""
        if self.kind in _NAMED_SOURCES:
            return f"{self.kind.value}:{self.name}"
        return self.kind.value

    def __str__(self) -> str:
        return self.label()


@dataclass(frozen=True)
class Decision:
    """What the daemon answers to a permission request or question, and how it decided."""

    kind: DecisionKind
    answer: str | None = None
    message: str | None = None
    updated_input: Mapping[str, Any] | None = None
    source: DecisionSource = DecisionSource(SourceKind.OTHER)
    latency_s: float = 0.0
    timed_out: bool = False
    risk: str | None = None  # the deciding rule's risk class (RiskClass value), when it has one
    reason: str | None = None  # the deciding rule's reason, shown to the person
    severity: str = "normal"  # Severity value: where a person may answer


Request = PermissionRequest | Question
DecisionCallback = Callable[[Request], Decision]


class OutcomeKind(StrEnum):
    """How an agent session ended."""

    SUCCESS = "success"
    ERROR = "error"
    USAGE_LIMIT = "usage_limit"
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    AUTH_FAILED = "auth_failed"
    TIMEOUT = "timeout"  # idle or total time limit
    LIMIT = "limit"  # max turns or max cost
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class SessionOutcome:
    """The end of one agent session, with what the agent reported."""

    kind: OutcomeKind
    session_id: str | None = None
    cost_usd: float = 0.0
    num_turns: int = 0
    usage: Mapping[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    is_error: bool = False
    reason: str = ""
    final_text: str = ""
    model: str | None = None
    reset_at: datetime | None = None  # for usage / rate limits, when the CLI gives one

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.SUCCESS


# --------------------------------------------------------------------------- vcs


class PRState(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"


@dataclass(frozen=True)
class PullRequest:
    """A pull (merge) request as the forge reports it."""

    number: int
    url: str
    branch: str
    base: str
    title: str
    state: PRState = PRState.OPEN
    provider: str = "local"
    review_decision: str | None = None  # approved | changes_requested | None
    checks: str | None = None  # success | failure | pending | None
    mergeable: bool | None = None  # None while the forge is still computing it (or cannot say)
    draft: bool = False
    approved: bool = False  # a person allowed to review approved it (a bot's or a drive-by approval counts not)
    head_sha: str | None = None


class CheckStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class CheckConclusion(StrEnum):
    """GitHub's check-run conclusions; GitLab job states and commit statuses are mapped onto them."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    NEUTRAL = "neutral"
    ACTION_REQUIRED = "action_required"
    STARTUP_FAILURE = "startup_failure"
    STALE = "stale"


class CiState(StrEnum):
    PENDING = "pending"
    GREEN = "green"
    RED = "red"
    NONE = "none"  # no CI reports on this commit (or the forge has none)


@dataclass(frozen=True)
class CheckRun:
    """One CI check on a commit: a GitHub check run or commit status, or a GitLab job."""

    name: str
    status: CheckStatus
    conclusion: CheckConclusion | None = None
    url: str = ""  # the run or job page a person opens
    job_id: int | None = None  # what failure_log and rerun need (None: a commit status, no log on the forge)
    failure_reason: str = ""  # the forge's own word for why, when it gives one (GitLab: runner_system_failure …)

    @property
    def failed(self) -> bool:
        return self.status is CheckStatus.COMPLETED and self.conclusion in FAILED_CONCLUSIONS


FAILED_CONCLUSIONS = frozenset({CheckConclusion.FAILURE, CheckConclusion.CANCELLED, CheckConclusion.TIMED_OUT,
                                CheckConclusion.ACTION_REQUIRED, CheckConclusion.STARTUP_FAILURE})


@dataclass(frozen=True)
class CiReport:
    """The CI state of one commit: red as soon as one check failed, pending while any runs, else green."""

    sha: str
    state: CiState
    checks: tuple[CheckRun, ...] = ()
    reason: str = ""  # why there is nothing to report (state none), in a sentence

    @property
    def failed(self) -> list[CheckRun]:
        return [c for c in self.checks if c.failed]


@dataclass(frozen=True)
class LogExcerpt:
    """The part of a failing job's log that explains it: the failing step and the lines that matter."""

    step: str | None
    excerpt: str
    url: str
    truncated: bool  # lines of the log were left out (the excerpt is never the whole of a long log)


@dataclass(frozen=True)
class ReviewThread:
    """A review conversation: an inline thread (path, line) or a general comment, with its first comment."""

    id: str  # the forge's thread id (GitHub GraphQL node id or comment id, GitLab discussion id)
    author: str
    body: str
    path: str | None = None
    line: int | None = None
    resolved: bool = False
    comment_id: int | None = None  # the first comment's REST id (what a reply on GitHub names)
    pr_number: int = 0
    replies: int = 0  # comments after the first one

    @property
    def inline(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class Workspace:
    """Where an attempt works: a git worktree on the priority's branch, based on ``base``."""

    path: Path
    branch: str
    base: str


@dataclass(frozen=True)
class ReviewComment:
    """One piece of review feedback: a review body, an inline comment (path/line) or a conversation comment."""

    author: str
    body: str
    path: str | None = None
    line: int | None = None
    created_at: str = ""
    kind: str = "comment"  # review | inline | comment

    def __str__(self) -> str:
        where = f" ({self.path}:{self.line})" if self.path else ""
        return f"{self.author}{where}: {self.body}"


class GateCheck(StrEnum):
    """The safety gate's checks; a failure names the one that said no."""

    TESTS = "tests"
    SECRETS = "secrets"
    PROTECTED_PATHS = "protected_paths"
    NO_REAL_WORK = "no_real_work"


@dataclass(frozen=True)
class GateFailure:
    """Why the safety gate said no, and which check said it."""

    kind: GateCheck
    sentence: str


@dataclass(frozen=True)
class GateReport:
    """The safety gate's verdict on a workspace; ``summary`` has one sentence per failure.

    ``failures`` holds the sentences (what the daemon feeds back to the agent), ``issues`` the
    same failures with their kind, so a caller can tell "fix the tests" from "escalate a secret".
    """

    passed: bool
    summary: str
    test_output: str = ""
    secrets_found: bool = False
    failures: Sequence[str] = ()
    issues: Sequence[GateFailure] = ()

    def has(self, kind: GateCheck) -> bool:
        return any(issue.kind == kind for issue in self.issues)


@dataclass(frozen=True)
class BranchStatus:
    """What git knows about a branch, for crash recovery (plain values, no GitPython objects)."""

    branch: str
    local: bool
    remote: bool
    local_sha: str | None
    remote_sha: str | None
    ahead: int  # commits on the branch not on the default branch
    merged: bool  # the branch's tip is reachable from the remote default branch

    @property
    def exists(self) -> bool:
        return self.local or self.remote

    @property
    def pushed(self) -> bool:
        """Everything committed locally is on the remote."""
        return self.remote and (self.local_sha is None or self.local_sha == self.remote_sha)


# --------------------------------------------------------------------------- rules


class RiskClass(StrEnum):
    """What kind of harm a rule guards against; shown to the person with the rule's reason."""

    SECRET = "secret"
    EXFILTRATION = "exfiltration"
    DESTRUCTION = "destruction"
    HISTORY_REMOTE = "history/remote"
    PRODUCTION_CLOUD = "production/cloud"
    PUBLISH = "publish"
    PERSISTENCE = "persistence/self-permission"
    OUTSIDE_WORKTREE = "outside-worktree"
    OPAQUE_CODE = "opaque-code"  # eval, decoded strings, one-liners: code the rules cannot read


class Severity(StrEnum):
    """How a question reaches a person: high ones only where the person is (terminal, `coffee-maker answer`)."""

    NORMAL = "normal"
    HIGH = "high"


#: The classes whose requests are high severity unless a rule says otherwise.
HIGH_SEVERITY_CLASSES = frozenset({RiskClass.SECRET, RiskClass.EXFILTRATION, RiskClass.HISTORY_REMOTE,
                                   RiskClass.PRODUCTION_CLOUD})
