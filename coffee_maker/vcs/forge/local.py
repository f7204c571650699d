"""The local forge: no server. The branch stays for review, a JSON record and a Markdown
summary per PR live in `.coffee_maker/reviews/`, and "merged" means the branch's tip is
on the remote's default branch."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from coffee_maker.config import LoadedConfig
from coffee_maker.errors import ForgeError
from coffee_maker.roadmap.editor import atomic_write
from coffee_maker.types import PRState, PullRequest, ReviewComment
from coffee_maker.vcs.forge.trust import ReviewFeedback
from coffee_maker.vcs.git import GitManager


class LocalForge:
    name = "local"

    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.dir = loaded.state_dir / "reviews"
        self._git: GitManager | None = None  # one per forge: the daemon polls find() for every open PR

    def _path(self, branch: str) -> Path:
        return self.dir / (re.sub(r"[^A-Za-z0-9._-]+", "-", branch) + ".json")

    def _load(self, branch: str) -> dict[str, Any] | None:
        path = self._path(branch)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def _save(self, record: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self._path(record["branch"]), json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        summary = self._path(record["branch"]).with_suffix(".md")
        atomic_write(summary, f"# PR #{record['number']}: {record['title']}\n\n"
                              f"Branch `{record['branch']}` → `{record['base']}` · state: {record['state']}\n\n"
                              f"Review it with `git diff {record['base']}...{record['branch']}`.\n\n{record['body']}\n"
                              + "".join(f"\n> {n['author']}: {n['body']}\n" for n in record.get("notes", [])))

    def _next_number(self) -> int:
        numbers = [json.loads(p.read_text()).get("number", 0) for p in self.dir.glob("*.json")] if self.dir.exists() else []
        return max(numbers, default=0) + 1

    def _to_pr(self, record: dict[str, Any]) -> PullRequest:
        return PullRequest(number=record["number"], url=record["url"], branch=record["branch"], base=record["base"],
                           title=record["title"], state=PRState(record["state"]), provider="local",
                           review_decision=record.get("review_decision"))

    def open_or_update(self, *, branch: str, base: str, title: str, body: str, labels: Sequence[str] | None = None,
                       reviewers: Sequence[str] | None = None, draft: bool | None = None) -> PullRequest:
        """Write (or rewrite) the branch's review record; a closed or merged one gets a fresh open record."""
        record = self._load(branch)
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if record is None or record["state"] != "open":
            number = record["number"] if record else self._next_number()
            record = {"number": number, "branch": branch, "base": base, "state": "open", "created": now,
                      "comments": [], "review_decision": None,
                      "url": self._path(branch).with_suffix(".md").as_uri()}
        settings = self.loaded.config.forge
        record.update(title=title, body=body, updated=now,
                      labels=list(settings.labels if labels is None else labels),
                      reviewers=list(settings.reviewers if reviewers is None else reviewers),
                      draft=settings.draft if draft is None else draft)
        self._save(record)
        return self._to_pr(record)

    def find(self, branch: str) -> PullRequest | None:
        record = self._load(branch)
        if record is None:
            return None
        if record["state"] == "open" and self._merged(branch, record["base"]):
            record["state"] = "merged"
            self._save(record)
        return self._to_pr(record)

    def _merged(self, branch: str, base: str) -> bool:
        if self._git is None:
            self._git = GitManager(self.loaded)
        return self._git.is_merged(branch, base)

    def get(self, number: int) -> PullRequest:
        for path in sorted(self.dir.glob("*.json")) if self.dir.exists() else []:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("number") == number:
                found = self.find(record["branch"])
                assert found is not None
                return found
        raise ForgeError(f"There is no local pull request #{number} in {self.dir}.")

    def comments(self, pr: PullRequest) -> list[ReviewComment]:
        record = self._load(pr.branch) or {}
        return [ReviewComment(c.get("author", "reviewer"), c["body"], path=c.get("path"), line=c.get("line"),
                              created_at=c.get("created_at", ""), kind=c.get("kind", "comment"))
                for c in record.get("comments", [])]

    def review_feedback(self, pr: PullRequest) -> ReviewFeedback:
        """All trusted: local reviews are written on this machine (`review`), by someone who can push anyway."""
        return ReviewFeedback(trusted=self.comments(pr))

    def feedback(self, pr: PullRequest) -> list[str]:
        return [str(c) for c in self.review_feedback(pr).trusted]

    def verify(self) -> str:
        where = self.dir.relative_to(self.loaded.repo) if self.dir.is_relative_to(self.loaded.repo) else self.dir
        return f"local review branches (no forge): a record per PR in {where}/"

    def comment(self, pr: PullRequest, body: str) -> None:
        """A note from the daemon on the review record (shown in the summary file)."""
        record = self._load(pr.branch)
        if record is None:
            raise ForgeError(f"There is no local pull request for {pr.branch}.")
        record.setdefault("notes", []).append({"author": "coffee-maker", "body": body,
                                               "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        self._save(record)

    def review(self, branch: str, *, author: str, body: str, changes_requested: bool) -> None:
        """A person's review of a local PR (what `changes requested` means without a forge)."""
        record = self._load(branch)
        if record is None:
            raise KeyError(branch)
        record["comments"].append({"author": author, "body": body, "kind": "review",
                                   "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        record["review_decision"] = "changes_requested" if changes_requested else "approved"
        self._save(record)

    def close(self, branch: str) -> None:
        record = self._load(branch)
        if record is not None:
            record["state"] = "closed"
            self._save(record)
