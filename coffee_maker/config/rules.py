"""[rules] — how the MessageHandler answers permission requests and questions.

Order matters: escalation patterns are checked first (they always reach a person),
then rules in order — the first matching rule decides. For shell commands every
part of a chain (`&&`, `;`, `|`, `$(…)`) is judged and the riskiest verdict wins.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FACTS = ("tests_passed", "changes_valid", "branch_ready", "files_modified", "branch", "priority")
FILE_TOOLS = ("Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "Glob", "Grep", "LS")
KNOWN_TOOLS = frozenset({
    "Bash", "Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "Glob", "Grep", "LS", "WebFetch", "WebSearch",
    "TodoWrite", "Task", "ExitPlanMode", "BashOutput", "KillShell", "AskUserQuestion", "SlashCommand",
    "NotebookRead", "*"})


def _check_regex(rule: str, field: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"rule {rule!r} has a bad regular expression in {field} ({pattern!r}: {exc})") from None


def unknown_tools(tool: str) -> list[str]:
    """Names in a rule's ``tool`` that are neither Claude Code tools nor MCP tools (``mcp__…``)."""
    return sorted(t for t in (p.strip() for p in tool.split("|")) if t not in KNOWN_TOOLS and not t.startswith("mcp__"))


class PermissionRule(BaseModel):
    """Tool + pattern on its input → allow, deny or ask."""

    model_config = ConfigDict(extra="forbid")

    name: str
    tool: str = Field(description="Tool name, several separated by '|', or '*'.")
    command: str | None = Field(None, description="Bash: regex searched in one part of the command.")
    path: str | None = Field(None, description="File tools: glob on the path relative to the repository ('**' ok).")
    inside_repo: bool | None = Field(None, description="File tools: match only paths inside (true) / outside (false) the repo.")
    decision: Literal["allow", "deny", "ask"]
    message: str | None = Field(None, description="Shown to the agent when denied.")
    saved_by: str | None = Field(None, description="Who saved this rule from an 'always allow' answer.")
    saved_at: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> PermissionRule:
        """Bad regexes and unknown tools fail at load, naming the rule — not at the first request."""
        unknown = unknown_tools(self.tool)
        if unknown:
            raise ValueError(f"rule {self.name!r} names unknown tools {unknown}; known: {sorted(KNOWN_TOOLS)} or mcp__…")
        if self.command is not None:
            _check_regex(self.name, "command", self.command)
        return self


class QuestionRule(BaseModel):
    """A regex on the question → an answer, when the facts match."""

    model_config = ConfigDict(extra="forbid")

    name: str
    pattern: str
    answer: str
    when: dict[str, Any] = Field(default_factory=dict, description=f"Facts that must hold: {', '.join(FACTS)}.")

    @model_validator(mode="after")
    def _valid(self) -> QuestionRule:
        _check_regex(self.name, "pattern", self.pattern)
        unknown = sorted(set(self.when) - set(FACTS))
        if unknown:
            raise ValueError(f"rule {self.name!r} uses unknown facts {unknown}; known: {', '.join(FACTS)}")
        return self


def _p(name: str, tool: str, decision: str, *, command: str | None = None, path: str | None = None,
       inside_repo: bool | None = None, message: str | None = None) -> PermissionRule:
    return PermissionRule(name=name, tool=tool, decision=decision,
                          command=command, path=path, inside_repo=inside_repo, message=message)


_FILE = "Read|Edit|Write|MultiEdit|NotebookEdit|Glob|Grep|LS"
_SECRET_PATHS = ("**/.env", "**/.env.*", "**/*.pem", "**/*.key", "**/id_rsa*", "**/id_ed25519*", "**/.ssh/**",
                 "**/.aws/credentials", "**/.netrc", "**/.npmrc", "**/.pypirc", "**/secrets.*", "**/.git-credentials")
_NO_PUSH = "The daemon pushes and opens the pull request itself; do not push, merge or rewrite history."


def default_permission_rules() -> list[PermissionRule]:
    rules = [_p(f"secret-file-{i}", _FILE, "deny", path=glob, message="Secret files are off limits.")
             for i, glob in enumerate(_SECRET_PATHS)]
    rules += [
        _p("outside-repo-files", _FILE, "deny", inside_repo=False, message="Stay inside the repository."),
        _p("git-push", "Bash", "deny", command=r"^git\s+push\b", message=_NO_PUSH),
        _p("git-history", "Bash", "deny", message=_NO_PUSH,
           command=r"^git\s+(merge|rebase|reset\s+--hard|filter-branch|filter-repo|commit\s+--amend|tag|remote)\b"),
        _p("git-commit", "Bash", "deny", command=r"^git\s+commit\b", message="The daemon commits after its checks."),
        _p("secret-read-shell", "Bash", "deny", message="Secret files and credentials are off limits.",
           command=r"(~|\$HOME|/root|/home/[^/\s]+)/\.(ssh|aws|netrc|gnupg|config/gh)|\.env\b|id_rsa|\.pem\b|printenv|^env$|^set$"),
        _p("rm-outside", "Bash", "deny", command=r"^(sudo\s+)?rm\s+(-\w*\s+)*(/|~|\$HOME|\.\.)",
           message="Deleting outside the repository is not allowed."),
        _p("destructive", "Bash", "deny", message="Destructive system commands are not allowed.",
           command=r"^(sudo|su|dd|mkfs\S*|shutdown|reboot|halt|chown|kill(all)?|pkill)\b|chmod\s+-R\s+777|:\(\)\s*\{"),
        _p("pipe-to-shell", "Bash", "deny", command=r"^(sh|bash|zsh|python3?)\s*$",
           message="Piping downloads into a shell is not allowed."),
        _p("network-install", "Bash", "ask",
           command=r"^(pip3?|uv|poetry|npm|pnpm|yarn|gem|cargo|go|apt(-get)?|brew)\s+(install|add|i|get)\b|^(curl|wget)\b"),
        _p("rm-recursive", "Bash", "ask", command=r"^rm\s+(-\w*r\w*|--recursive)"),
        _p("find-delete-exec", "Bash", "ask", command=r"^find\b.*\s-(delete|exec|execdir|ok)\b"),
        _p("web", "WebFetch|WebSearch", "ask"),
        _p("repo-files", _FILE, "allow", inside_repo=True),
        _p("tests", "Bash", "allow", command=r"^(python3?\s+-m\s+)?(pytest|unittest|tox|nox)\b|^(npm|pnpm|yarn)\s+(run\s+)?test\b"
                                             r"|^make\s+(test|check|lint)\b|^(go|cargo)\s+test\b"),
        _p("linters", "Bash", "allow", command=r"^(python3?\s+-m\s+)?(ruff|mypy|flake8|black|isort|pylint|pyright|eslint|prettier|tsc)\b"),
        _p("git-read", "Bash", "allow", command=r"^git\s+(status|diff|log|show|branch|rev-parse|ls-files|blame|grep)\b"),
        _p("read-only-shell", "Bash", "allow",
           command=r"^(ls|pwd|cat|head|tail|wc|grep|rg|find|echo|true|which|tree|sort|uniq|diff|file|stat|python3?\s+--version)\b"),
        _p("mkdir-touch", "Bash", "allow", command=r"^(mkdir|touch|cp|mv)\s+(?!.*(\s/|~|\.\.))"),
        _p("bookkeeping", "TodoWrite|Task|ExitPlanMode|BashOutput|KillShell", "allow"),
    ]
    return rules


def default_question_rules() -> list[QuestionRule]:
    return [
        QuestionRule(name="continue-if-tests-pass", pattern=r"\b(continue|proceed|go ahead|keep going)\b",
                     answer="yes", when={"tests_passed": True}),
        QuestionRule(name="commit-if-valid", pattern=r"\bcommit\b", answer="yes", when={"changes_valid": True}),
        QuestionRule(name="run-tests", pattern=r"\b(run|execute|rerun)\b.*\btests?\b", answer="yes"),
        QuestionRule(name="create-pr-if-ready", pattern=r"\b(create|open)\b.*\b(pr|pull request)\b", answer="yes",
                     when={"branch_ready": True}),
    ]


def default_escalations() -> list[str]:
    return [r"\bapi[\s_-]?keys?\b", r"\bcredential", r"\b(password|secret|token)s?\b", r"\bdelete\b.*\bproduction\b",
            r"\bproduction\b.*\bdelete\b", r"\bdrop\s+(table|database)\b", r"\bbreaking change", r"\bmerge\b.*\b(main|master)\b"]


class RulesSettings(BaseModel):
    """Rules the MessageHandler applies before asking a person."""

    model_config = ConfigDict(extra="forbid")

    escalate: list[str] = Field(default_factory=default_escalations,
                                description="Question regexes that always go to a person (checked first).")
    permissions: list[PermissionRule] = Field(default_factory=default_permission_rules,
                                              description="Permission rules, first match wins.")
    extra_permissions: list[PermissionRule] = Field(default_factory=list,
                                                    description="Your rules, checked before the defaults.")
    questions: list[QuestionRule] = Field(default_factory=default_question_rules)
    extra_questions: list[QuestionRule] = Field(default_factory=list, description="Your question rules, checked first.")
    allow_test_command: bool = Field(True, description="Allow the configured [git] test_command.")
    default_question: Literal["ask"] | str = Field("ask", description="Unmatched question: 'ask' a person, or this answer.")
    default_permission: Literal["ask", "deny"] = Field("ask", description="Unmatched permission request.")
    timeout_answer: str = Field("no", description="Safe answer to a question nobody answered in time.")

    @field_validator("escalate")
    @classmethod
    def _valid_escalations(cls, patterns: list[str]) -> list[str]:
        for i, pattern in enumerate(patterns):
            _check_regex(f"escalate[{i}]", "escalate", pattern)
        return patterns
