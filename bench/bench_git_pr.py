"""The daemon's own git and PR work for one priority on a large repository, next to plain git.

    .venv/bin/python bench/bench_git_pr.py [--commits 10000] [--files 5000] [--runs 7]

Repository: generated once with `git fast-import` (10,000 commits, 5,000 files), cached in
/tmp. Each run, on a fresh clone with a fresh bare origin: preflight, branch + worktree from
origin/main, the safety gate without the user's tests, commit, push to the local bare origin,
and the PR request to the local fake GitHub (coffee_maker.testing.fake_forge). Two cases:
steady state (a previous priority's finished worktree exists and is reused) and the first
priority (a new worktree: a full checkout). The peer is the same git work as plain `git`
commands by subprocess. Medians of --runs.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import structlog

from coffee_maker.config import load_config
from coffee_maker.roadmap import parse_roadmap
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.types import Priority
from coffee_maker.vcs import GitManager, SafetyGate
from coffee_maker.vcs.forge.github import GitHubForge

CACHE = Path(tempfile.gettempdir()) / "coffee-maker-bench-repo"
ROADMAP = "# R\n\n## PRIORITY 1: Big repo work\n\n**Status**: 📝 Planned\n\n- [ ] do it\n"


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def generate(commits: int, files: int) -> Path:
    marker = CACHE / f"done-{commits}-{files}"
    if marker.exists():
        return CACHE / "origin.git"
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    origin = CACHE / "origin.git"
    sh(CACHE, "git", "init", "-q", "--bare", "-b", "main", str(origin))
    stream = []
    t = 1_700_000_000
    for c in range(commits):
        stream.append(f"commit refs/heads/main\nmark :{c + 1}\ncommitter Bench <b@x> {t + c} +0000\n"
                      f"data {len(f'c{c}')}\nc{c}\n")
        if c:
            stream.append(f"from :{c}\n")
        if c == 0:
            for f in range(files):
                body = f"# file {f}\nvalue = {f}\n"
                stream.append(f"M 100644 inline src/pkg{f % 50}/mod{f}.py\ndata {len(body)}\n{body}\n")
            stream.append(f"M 100644 inline docs/ROADMAP.md\ndata {len(ROADMAP.encode())}\n{ROADMAP}\n")
            stream.append("M 100644 inline coffee_maker.toml\ndata 0\n\n")
        else:
            body = f"# file {c % files}\nvalue = {c}\n"
            stream.append(f"M 100644 inline src/pkg{c % 50}/mod{c % files}.py\ndata {len(body)}\n{body}\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=origin, input="".join(stream).encode(), check=True)
    marker.touch()
    return origin


def fresh_clone(origin: Path, root: Path) -> Path:
    work = root / "work"
    sh(root, "git", "clone", "-q", str(origin), str(work))
    sh(work, "git", "config", "user.name", "Bench")
    sh(work, "git", "config", "user.email", "b@x")
    return work


def priorities() -> tuple[Priority, Priority]:
    first = parse_roadmap(ROADMAP).priorities[0]
    return first, replace(first, id="PRIORITY 2", title="More big repo work")


def ours(work: Path, fake: FakeForge, *, warm: bool) -> float:
    """One priority's git + PR work; ``warm``: a previous priority's finished worktree exists (steady state)."""
    loaded = load_config(work)
    previous, priority = priorities()
    if warm:
        setup = GitManager(loaded)
        ws = setup.prepare(previous)
        (ws.path / "src" / "previous.py").write_text("done = True\n")
        setup.commit(ws, f"feat({previous.id_slug}): {previous.title}", {"Priority": previous.id})
        setup.push(ws)
    # Built once per daemon (its Services), as here: creating an httpx client alone costs ~30 ms.
    forge = GitHubForge(fake.url, "o", "r", fake.token, loaded.config.forge)
    start = time.perf_counter()
    git = GitManager(loaded)
    git.preflight()
    ws = git.prepare(priority)
    (ws.path / "src" / "feature.py").write_text("def f():\n    return 1\n")
    report = SafetyGate(loaded, git).check(ws, run_tests=False)
    assert report.passed, report.summary
    git.commit(ws, f"feat({priority.id_slug}): {priority.title}", {"Priority": priority.id, "Agent-Session": "bench"})
    git.push(ws)
    forge.open_or_update(branch=ws.branch, base=ws.base, title=priority.title, body="bench")
    return time.perf_counter() - start


def plain_git(work: Path, fake: FakeForge, *, warm: bool) -> float:
    """The same git operations as plain `git` commands (the PR request is not part of this peer)."""
    previous, current = work / ".wt-previous", work / ".wt"
    if warm:
        sh(work, "git", "worktree", "add", "-q", "--no-track", "-b", "plain/p0", str(previous), "origin/main")
        (previous / "src" / "previous.py").write_text("done = True\n")
        sh(previous, "git", "add", "-A")
        sh(previous, "git", "commit", "-q", "-m", "feat: previous")
        sh(previous, "git", "push", "-q", "-u", "origin", "HEAD:refs/heads/plain/p0")
    start = time.perf_counter()
    sh(work, "git", "fetch", "-q", "origin")
    if warm:
        sh(previous, "git", "status", "--porcelain", "--untracked-files=all")
        sh(work, "git", "worktree", "move", str(previous), str(current))
        sh(current, "git", "checkout", "-q", "--no-track", "-b", "plain/p1", "origin/main")
    else:
        sh(work, "git", "worktree", "add", "-q", "--no-track", "-b", "plain/p1", str(current), "origin/main")
    (current / "src" / "feature.py").write_text("def f():\n    return 1\n")
    sh(current, "git", "status", "--porcelain", "--untracked-files=all")
    sh(current, "git", "diff", "-U0", "origin/main")
    sh(current, "git", "add", "-A")
    sh(current, "git", "commit", "-q", "-m", "feat: work")
    sh(current, "git", "push", "-q", "-u", "origin", "HEAD:refs/heads/plain/p1")
    return time.perf_counter() - start


def measure(origin: Path, fake: FakeForge, runs: int, *, warm: bool) -> tuple[float, float]:
    ours_s, plain_s = [], []
    for _ in range(runs):
        for fn, bucket in ((ours, ours_s), (plain_git, plain_s)):
            with tempfile.TemporaryDirectory() as tmp:
                bare = Path(tmp) / "origin.git"
                shutil.copytree(origin, bare)
                bucket.append(fn(fresh_clone(bare, Path(tmp)), fake, warm=warm))
    return statistics.median(ours_s) * 1000, statistics.median(plain_s) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    t0 = time.perf_counter()
    origin = generate(args.commits, args.files)
    print(f"repository: {args.commits} commits, {args.files} files (ready in {time.perf_counter() - t0:.1f} s)")
    with FakeForge(token="bench-token") as fake:
        for warm, label in ((True, "steady state (previous priority's worktree reused)"),
                            (False, "first priority (new worktree: full checkout)")):
            a, b = measure(origin, fake, args.runs, warm=warm)
            print(f"{label}:")
            print(f"  coffee-maker branch+gate+commit+push+PR: median {a:.0f} ms (target <= 500 ms)")
            print(f"  plain git, same git operations:          median {b:.0f} ms   ratio {a / b:.2f}")
        assert fake.problems == [], fake.problems


if __name__ == "__main__":
    main()
