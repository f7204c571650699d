"""[daemon] — the loop's budgets, retries and pacing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DaemonSettings(BaseModel):
    """The daemon loop: attempts, budgets, pacing."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(3, ge=1, description="Failed attempts before a priority is marked blocked.")
    retry_delay_s: float = Field(
        30.0, ge=0, description="Wait before retrying a failed attempt, doubled after each failure, so a network "
                          "blip does not use up the attempts.")
    gate_fix_rounds: int = Field(2, ge=0, description="Times the agent is asked to fix a failing gate within one attempt.")
    ci_fix_rounds: int = Field(2, ge=0, description="Times the agent is asked to fix a red CI check before the "
                                                       "priority is blocked (the PR stays open).")
    poll_interval_s: float = Field(60.0, gt=0, description="How often an idle daemon fetches the remote and checks PRs.")
    roadmap_debounce_s: float = Field(0.1, ge=0, description="Quiet time after a roadmap save before it is re-read.")
    priority_soft_cap_usd: float | None = Field(None, ge=0, description="Warn when one priority's agent cost passes this.")
    priority_hard_cap_usd: float | None = Field(None, ge=0, description="Block a priority whose agent cost reaches this.")
    daily_soft_cap_usd: float | None = Field(None, ge=0, description="Warn when today's agent cost passes this.")
    daily_hard_cap_usd: float | None = Field(None, ge=0, description="Pause all work for the day when today's cost reaches this.")
    usage_limit_backoff_s: float = Field(900.0, ge=0, description="Sleep after a usage/rate limit without a reset time.")
    rate_limit_backoff_start_s: float = Field(
        15.0, ge=0, description="First wait after an API rate limit or overload without a reset time; it doubles "
                                "with each one in a row, up to usage_limit_backoff_s, and the same session resumes.")
    fallback_backend: str | None = Field(
        None, description="Agent backend to use while the main one is usage- or rate-limited (e.g. codex).")
    devlogs: bool = Field(True, description="Write docs/devlogs/<date>_<priority>-<outcome>.md on the branch per attempt.")
    claim_lease_s: float = Field(
        300.0, gt=0, description="How long a claim on a priority (a ref on the remote) lasts unless renewed; renewed "
                                 "every third of it, so a dead daemon's priority is taken over after about this long "
                                 "(docs/tech_decisions/claim-refs.md).")
    claim_skew_margin_s: float = Field(
        30.0, ge=0, description="Extra time past a claim's expiry before another daemon takes it over, for clocks "
                                "that disagree between machines.")
    claim_namespace: str = Field(
        "refs/coffee-maker", description="Where claims and work-in-progress refs live on the remote; use "
                                         "\"refs/heads/coffee-maker-claims\" when the server accepts only branches.")
    lanes: int = Field(
        1, ge=1, le=16, description="Priorities worked on at once, each in its own worktree, branch and agent "
                                    "process; more lanes spend faster and open more PRs for a person to review "
                                    "(docs/tech_decisions/lanes.md).")
    stack_dependents: bool = Field(
        False, description="Let a priority start on top of its dependency's open PR instead of waiting for the "
                           "merge: its PR targets that branch and says \"stacked on #N\"; when the parent merges it "
                           "is rebased onto the default branch and retargeted, and its own dependents, stacked on it, follow "
                           "(docs/tech_decisions/stacking.md). Off: "
                           "dependents wait for the merge.")
    claims: bool | Literal["auto"] = Field(
        "auto", description="Claim each priority on the remote before working on it, so several daemons share "
                            "one roadmap; \"auto\": when the repository has a remote.")
    guidance_files: list[str] = Field(
        default_factory=lambda: ["CLAUDE.md", "AGENTS.md", "CONTRIBUTING.md"],
        description="Repository guidance files put into the agent's prompt when present.",
    )

    @field_validator("claim_namespace")
    @classmethod
    def _namespace_is_a_ref_prefix(cls, value: str) -> str:
        value = value.rstrip("/")
        parts = value.split("/")
        if len(parts) < 2 or parts[0] != "refs" or any(not p or p.startswith(".") or ".." in p for p in parts) \
                or any(c in value for c in " ~^:?*[\\"):
            raise ValueError(f"should be a ref prefix such as \"refs/coffee-maker\", not {value!r}")
        return value
