"""GitHub through the `gh` CLI, for people who are already logged in (`gh auth login`).

Why `gh api` rather than `gh pr create`: the REST calls, their payloads and the
422 handling are then exactly those of ``GitHubForge`` (one code path to test),
while `gh` supplies the credentials and the host (github.com or an Enterprise host).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from coffee_maker import proc
from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError, ProcessError
from coffee_maker.vcs.forge._github_api import LOG_CHUNK_BYTES
from coffee_maker.vcs.forge._polling import Poller, RetryPolicy
from coffee_maker.vcs.forge.github import HEADERS, Answer, GitHubForge


class GhCliForge(GitHubForge):
    name = "gh"

    def __init__(self, owner: str, repo: str, settings: ForgeSettings, *, hostname: str = "github.com",
                 gh: str = "gh", env: dict[str, str] | None = None, timeout_s: float = 60.0,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.owner, self.repo, self.settings = owner, repo, settings
        self.hostname, self.gh, self.env, self.timeout_s = hostname, gh, env, timeout_s
        self.poller = Poller("GitHub", policy=retry, sleep=sleep)

    def _send(self, method: str, path: str, params: dict[str, str] | None, payload: Any,
              headers: dict[str, str] | None = None) -> Answer:
        target = path.lstrip("/") + (f"?{urlencode(params)}" if params else "")
        argv = [self.gh, "api", "--include", "--hostname", self.hostname, "--method", method, target]
        for name, value in {**HEADERS, **(headers or {})}.items():
            argv += ["-H", f"{name}: {value}"]
        if payload is not None:
            argv += ["--input", "-"]
        try:
            result = proc.run(argv, input=json.dumps(payload) if payload is not None else None, env=self.env,
                              timeout=self.timeout_s)
        except ProcessError as exc:  # gh is not installed: a forge problem the person fixes, not a crash
            raise ForgeError(f"{exc.message} [forge] provider = \"gh\" needs the GitHub CLI (`gh auth login`); "
                             "or use provider = \"github\" with GITHUB_TOKEN.") from None
        if result.timed_out:
            raise ForgeError(f"`gh api {method} {target}` timed out after {self.timeout_s:.0f}s.")
        return parse_included(result.stdout, result.stderr)

    def _stream(self, path: str, what: str) -> Iterator[bytes]:
        """`gh api` follows GitHub's redirect to the log download; its output is read in chunks, never whole."""
        argv = [self.gh, "api", "--hostname", self.hostname, f"repos/{self.owner}/{self.repo}{path}"]
        for name, value in HEADERS.items():
            argv += ["-H", f"{name}: {value}"]
        try:
            child = proc.spawn(argv, env=proc.child_env(self.env) if self.env else None)
        except ProcessError as exc:
            raise ForgeError(f"{exc.message} [forge] provider = \"gh\" needs the GitHub CLI.") from None
        self.poller.stats.requests += 1
        assert child.stdout is not None and child.stdin is not None
        child.stdin.close()
        try:
            while chunk := child.stdout.read(LOG_CHUNK_BYTES):
                yield chunk
            if child.wait(timeout=self.timeout_s) != 0:
                error = child.stderr.read(500).decode(errors="replace").strip() if child.stderr else ""
                raise ForgeError(f"GitHub (gh) could not {what}: {error or 'gh api failed'}.")
        finally:
            if child.poll() is None:
                proc.stop_group(child, grace_s=1.0)


def parse_included(stdout: str, stderr: str) -> Answer:
    """Status, JSON body and headers from `gh api --include` output: a status line, headers, a blank line, the body."""
    head, _, body = stdout.replace("\r\n", "\n").partition("\n\n")
    status_line, _, header_lines = head.partition("\n")
    first = status_line.split()
    if len(first) < 2 or not first[0].startswith("HTTP/") or not first[1].isdigit():
        raise ForgeError(f"`gh api` failed: {stderr.strip() or stdout.strip()[:200] or 'no output'} "
                         "(is gh installed and logged in? `gh auth status`).")
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        data = {"message": body[:200]}
    headers = {}
    for line in header_lines.split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return Answer(int(first[1]), data, headers)
