"""The local forge: no server. The branch stays for review, a JSON record and a Markdown
summary per PR live in `.coffee_maker/reviews/`, and "merged" means the branch's tip is
on the remote's default branch.

There is no CI here: ``checks`` says so (state none). Review threads are the record's
comments; merging is a real ``git merge`` in a throw-away worktree pushed to the remote —
the person's checkout is never touched.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from coffee_maker import proc
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import ForgeError
from coffee_maker.roadmap.editor import atomic_write
from coffee_maker.types import (
    CheckRun,
    CiReport,
    CiState,
    LogExcerpt,
    PRState,
    PullRequest,
    ReviewComment,
    ReviewThread,
)
from coffee_maker.vcs.forge.trust import ReviewFeedback
from coffee_maker.vcs.git import GitManager


class LocalForge:
    name = "local"

    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.dir = loaded.layout.reviews
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
                           review_decision=record.get("review_decision"), draft=bool(record.get("draft")),
                           approved=record.get("review_decision") == "approved",
                           head_sha=self._tip(record["branch"]), mergeable=self._merges(record))

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

    def retarget(self, pr: PullRequest, base: str) -> PullRequest:
        """Point the review record at ``base`` (a stacked PR whose parent merged)."""
        return self._to_pr(self._rewrite(pr, base=base))

    def update_body(self, pr: PullRequest, body: str) -> None:
        """Rewrite the review record's body, whatever its state (a merged one is not reopened)."""
        self._rewrite(pr, body=body)

    def _rewrite(self, pr: PullRequest, **fields: Any) -> dict[str, Any]:
        record = self._load(pr.branch)
        if record is None:
            raise ForgeError(f"There is no local pull request for {pr.branch}.")
        record.update(fields, updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self._save(record)
        return record

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

    # ------------------------------------------------------------------ the loop without a server

    def _gitrun(self, *args: str, cwd: Path | None = None) -> proc.Completed:
        return proc.run(["git", *args], cwd=cwd or self.loaded.repo, timeout=120)

    def _tip(self, branch: str) -> str | None:
        remote = self.loaded.config.git.remote
        for ref in (f"refs/remotes/{remote}/{branch}", f"refs/heads/{branch}"):
            result = self._gitrun("rev-parse", "--verify", "--quiet", ref)
            if result.ok:
                return result.stdout.strip()
        return None

    def _merges(self, record: dict[str, Any]) -> bool | None:
        """`git merge-tree` says whether the branch merges into the base cleanly (None: cannot tell)."""
        if record["state"] != "open":
            return None
        base, tip = self._tip(record["base"]), self._tip(record["branch"])
        if base is None or tip is None:
            return None
        result = self._gitrun("merge-tree", "--write-tree", "--name-only", "--no-messages", base, tip)
        return {0: True, 1: False}.get(result.returncode)

    def checks(self, pr_or_sha: PullRequest | str) -> CiReport:
        sha = pr_or_sha if isinstance(pr_or_sha, str) else pr_or_sha.head_sha or ""
        return CiReport(sha, CiState.NONE, (), "a local repository has no CI; the gate's test command is its check")

    def failure_log(self, check: CheckRun) -> LogExcerpt:
        raise ForgeError("The local forge has no CI jobs, so there is no job log; see the gate's output instead.")

    def rerun(self, check: CheckRun) -> None:
        raise ForgeError("The local forge has no CI jobs to re-run.")

    def review_threads(self, pr: PullRequest) -> list[ReviewThread]:
        record = self._load(pr.branch) or {}
        return [ReviewThread(id=str(i), author=c.get("author", "reviewer"), body=c["body"], path=c.get("path"),
                             line=c.get("line"), resolved=bool(c.get("resolved")), comment_id=i, pr_number=pr.number,
                             replies=len(c.get("replies", [])))
                for i, c in enumerate(record.get("comments", []))]

    def _thread_comment(self, thread: ReviewThread, change: str) -> None:
        record = self._load_number(thread.pr_number)
        comments = record.get("comments", [])
        if not thread.id.isdigit() or int(thread.id) >= len(comments):
            raise ForgeError(f"There is no review thread {thread.id} on local pull request #{thread.pr_number}.")
        comment = comments[int(thread.id)]
        if change == "resolve":
            comment["resolved"] = True
        else:
            comment.setdefault("replies", []).append({"author": "coffee-maker", "body": change,
                                                      "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        self._save(record)

    def _load_number(self, number: int) -> dict[str, Any]:
        for path in sorted(self.dir.glob("*.json")) if self.dir.exists() else []:
            record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if record.get("number") == number:
                return record
        raise ForgeError(f"There is no local pull request #{number} in {self.dir}.")

    def reply(self, thread: ReviewThread, body: str) -> None:
        self._thread_comment(thread, body)

    def resolve(self, thread: ReviewThread) -> bool:
        self._thread_comment(thread, "resolve")
        return True

    def request_review(self, pr: PullRequest, reviewers: Sequence[str]) -> None:
        record = self._load_number(pr.number)
        record["reviewers"] = list(dict.fromkeys([*record.get("reviewers", []), *reviewers]))
        record["review_requested"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self._save(record)

    def merge(self, pr: PullRequest, method: Literal["merge", "squash", "rebase"]) -> str:
        """Merge the review branch into the base in a temporary worktree and push the base; the new base sha."""
        remote = self.loaded.config.git.remote
        fetched = self._gitrun("fetch", "--quiet", remote, pr.base, pr.branch)
        if not fetched.ok:
            raise ForgeError(f"Could not fetch {pr.base} and {pr.branch} from {remote}: {fetched.stderr.strip()}")
        tip = self._tip(pr.branch)
        if pr.head_sha and tip != pr.head_sha:
            raise ForgeError(f"Did not merge #{pr.number}: {pr.branch} moved since it was checked "
                             f"({(pr.head_sha or '')[:12]} → {(tip or '')[:12]}).")
        self.dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.dir, prefix="merge-") as scratch:
            where = Path(scratch) / "wt"
            start = f"{remote}/{pr.branch}" if method == "rebase" else f"{remote}/{pr.base}"
            self._git_ok("worktree", "add", "--quiet", "--detach", str(where), start)
            try:
                steps = {"merge": [["merge", "--no-ff", "--quiet", "-m", f"Merge #{pr.number}: {pr.title}",
                                    f"{remote}/{pr.branch}"]],
                         "squash": [["merge", "--squash", "--quiet", f"{remote}/{pr.branch}"],
                                    ["commit", "--quiet", "-m", f"{pr.title} (#{pr.number})"]],
                         "rebase": [["rebase", "--quiet", f"{remote}/{pr.base}"]]}[method]
                for step in steps:
                    result = self._gitrun(*step, cwd=where)
                    if not result.ok:
                        raise ForgeError(f"#{pr.number} does not {method} cleanly into {pr.base}: "
                                         f"{proc.tail(result.stdout + result.stderr, 5)}")
                self._git_ok("push", "--quiet", remote, f"HEAD:refs/heads/{pr.base}", cwd=where)
                sha = self._gitrun("rev-parse", "HEAD", cwd=where).stdout.strip()
            finally:
                self._gitrun("worktree", "remove", "--force", str(where))
        record = self._load_number(pr.number)
        record.update(state="merged", merged_sha=sha, merge_method=method)
        self._save(record)
        return sha

    def _git_ok(self, *args: str, cwd: Path | None = None) -> None:
        result = self._gitrun(*args, cwd=cwd)
        if not result.ok:
            raise ForgeError(f"`git {' '.join(args)}` failed: {proc.tail(result.stderr or result.stdout, 5)}")

    def enable_auto_merge(self, pr: PullRequest, method: Literal["merge", "squash", "rebase"]) -> None:
        raise ForgeError("The local forge has no auto-merge (nothing runs CI to wait for); "
                         "use [forge] merge = \"merge\", \"squash\" or \"rebase\".")

    def delete_branch(self, branch: str) -> None:
        """Delete the review branch on the remote (the local branch is the worktree's to free)."""
        remote = self.loaded.config.git.remote
        if self._gitrun("ls-remote", "--exit-code", "--heads", remote, branch).ok:
            self._git_ok("push", "--quiet", remote, "--delete", branch)

