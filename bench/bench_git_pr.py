"""The daemon's own git and PR work for one priority on a large repository, next to plain git.

    .venv/bin/python bench/bench_git_pr.py [--commits 10000] [--files 5000] [--runs 7]

Repository: generated once with `git fast-import` (10,000 commits, 5,000 files), cached in
/tmp. Each run: branch + worktree from origin/main, the safety gate without the user's tests,
commit, push to a local bare origin, PR record (local forge), roadmap tick commit + push.
The peer is the same sequence of plain `git` commands (worktree add, status, diff, add,
commit, push) run by subprocess. Medians of --runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from coffee_maker.config import load_config
from coffee_maker.roadmap import SetNote, SetStatus, Tick, edit_text, parse_roadmap
from coffee_maker.types import Status
from coffee_maker.vcs import GitManager, SafetyGate
from coffee_maker.vcs.forge.local import LocalForge

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


def ours(work: Path) -> float:
    loaded = load_config(work)
    priority = parse_roadmap(ROADMAP).priorities[0]
    start = time.perf_counter()
    git = GitManager(loaded)
    git.preflight()
    ws = git.prepare(priority)
    (ws.path / "src" / "feature.py").write_text("def f():\n    return 1\n")
    report = SafetyGate(loaded, git).check(ws, run_tests=False)
    assert report.passed, report.summary
    git.commit(ws, "feat(priority-1): Big repo work", {"Priority": "PRIORITY 1"})
    git.push(ws)
    pr = LocalForge(loaded).open_or_update(branch=ws.branch, base=ws.base, title="PRIORITY 1", body="b")
    path = ws.path / "docs" / "ROADMAP.md"
    path.write_text(edit_text(path.read_text(), "PRIORITY 1", [SetStatus(Status.COMPLETE), Tick(), SetNote("PR", pr.url)]))
    git.commit(ws, "docs(roadmap): mark PRIORITY 1 complete", {"Priority": "PRIORITY 1"})
    git.push(ws)
    return time.perf_counter() - start


def plain_git(work: Path) -> float:
    start = time.perf_counter()
    wt = work / ".wt"
    sh(work, "git", "fetch", "-q", "origin")
    sh(work, "git", "worktree", "add", "-q", "--no-track", "-b", "plain/p1", str(wt), "origin/main")
    (wt / "src" / "feature.py").write_text("def f():\n    return 1\n")
    sh(wt, "git", "status", "--porcelain", "--untracked-files=all")
    sh(wt, "git", "diff", "-U0", "origin/main")
    sh(wt, "git", "add", "-A")
    sh(wt, "git", "commit", "-q", "-m", "feat: work")
    sh(wt, "git", "push", "-q", "-u", "origin", "HEAD:refs/heads/plain/p1")
    roadmap = wt / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().replace("📝 Planned", "✅ Complete").replace("- [ ]", "- [x]"))
    sh(wt, "git", "commit", "-q", "-am", "docs: tick")
    sh(wt, "git", "push", "-q", "origin", "HEAD:refs/heads/plain/p1")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    t0 = time.perf_counter()
    origin = generate(args.commits, args.files)
    print(f"repository: {args.commits} commits, {args.files} files (ready in {time.perf_counter() - t0:.1f} s)")
    ours_s, plain_s = [], []
    for _ in range(args.runs):
        for fn, bucket in ((ours, ours_s), (plain_git, plain_s)):
            with tempfile.TemporaryDirectory() as tmp:
                bare = Path(tmp) / "origin.git"
                shutil.copytree(origin, bare)
                work = fresh_clone(bare, Path(tmp))
                bucket.append(fn(work))
    a, b = statistics.median(ours_s) * 1000, statistics.median(plain_s) * 1000
    print(f"coffee-maker git+PR work per priority: median {a:.0f} ms (target ≤ 500 ms)")
    print(f"plain git, same operations:            median {b:.0f} ms")
    print(f"ratio: {a / b:.2f}")


if __name__ == "__main__":
    main()
