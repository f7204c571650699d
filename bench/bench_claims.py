"""What a claim costs per priority against a local bare remote: claim, renew, checkpoint, list, release.

    .venv/bin/python bench/bench_claims.py [--priorities 50] [--claims 20]

One bare origin and two clones in a temporary directory (two machines). For each of
--priorities priorities, machine A claims it, renews it, pushes a checkpoint of a small
worktree change and releases it; machine B's refused claim (the loser of a race) and a
listing of --claims held claims are timed too. Each operation is real git (`commit-tree`
+ `push --force-with-lease`, `ls-remote`, one `fetch`), so the numbers are the local floor:
over a network add one round trip (or two, for a refused claim that reads the holder) per call.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _percentiles import describe_ms

from coffee_maker.vcs.checkpoints import push_checkpoint
from coffee_maker.vcs.claims import ClaimHeldError, ClaimStore


def sh(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def timed(samples: list[float], action: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = action()
    samples.append(time.perf_counter() - start)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--priorities", type=int, default=50)
    parser.add_argument("--claims", type=int, default=20, help="claims held while the listing is timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-claims-") as tmp:
        root = Path(tmp)
        sh(root, "init", "-q", "--bare", "-b", "main", "origin.git")
        for name in ("a", "b"):
            sh(root, "clone", "-q", "origin.git", name)
        a_repo = root / "a"
        for name, value in (("user.name", "bench"), ("user.email", "bench@example.test")):
            sh(a_repo, "config", name, value)
        (a_repo / "README.md").write_text("# bench\n")
        sh(a_repo, "add", "README.md")
        sh(a_repo, "commit", "-q", "-m", "init")
        sh(a_repo, "push", "-q", "origin", "HEAD:main")
        sh(a_repo, "worktree", "add", "-q", "-b", "coffee-maker/bench", str(root / "wt"), "HEAD")
        a = ClaimStore(a_repo, remote="origin", owner="bench/a")
        b = ClaimStore(root / "b", remote="origin", owner="bench/b")
        claim_s: list[float] = []
        renew_s: list[float] = []
        refused_s: list[float] = []
        checkpoint_s: list[float] = []
        release_s: list[float] = []
        for n in range(args.priorities):
            slug = f"p{n}"
            claim = timed(claim_s, lambda: a.acquire(f"P{n}", slug))  # noqa: B023 - called at once
            start = time.perf_counter()
            try:
                b.acquire(f"P{n}", slug)
            except ClaimHeldError:
                refused_s.append(time.perf_counter() - start)
            claim = timed(renew_s, lambda: a.renew(claim))  # type: ignore[arg-type]  # noqa: B023
            (root / "wt" / "work.txt").write_text(f"work in progress {n}\n")
            claim, _ = timed(checkpoint_s, lambda: push_checkpoint(a, root / "wt", claim))  # type: ignore[misc,arg-type]  # noqa: B023
            timed(release_s, lambda: a.release(claim))  # type: ignore[arg-type]  # noqa: B023
        for n in range(args.claims):
            a.acquire(f"H{n}", f"held{n}")
        plain_s: list[float] = []  # the floor: one bare `git push` of a ref, nothing of ours around it
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=a_repo, capture_output=True, text=True).stdout.strip()
        for n in range(args.priorities):
            timed(plain_s, lambda: sh(a_repo, "push", "-q", "origin", f"{head}:refs/bench/plain{n}"))  # noqa: B023
        list_s: list[float] = []
        for _ in range(max(10, args.priorities // 2)):
            timed(list_s, b.list)
        print(f"plain `git push` of one ref         {describe_ms(plain_s)}")
        print(f"claim (create, CAS on absent)       {describe_ms(claim_s)}")
        print(f"refused claim (server says held)    {describe_ms(refused_s)}")
        print(f"renew (CAS on our value)            {describe_ms(renew_s)}")
        print(f"checkpoint (snapshot + atomic push) {describe_ms(checkpoint_s)}")
        print(f"release (delete claim + wip)        {describe_ms(release_s)}")
        print(f"list {args.claims} claims (one fetch)          {describe_ms(list_s)}")
        per_priority = sorted(c + r + x for c, r, x in zip(claim_s, renew_s, release_s, strict=True))
        print(f"claim + renew + release, per priority: {describe_ms(per_priority)}")


if __name__ == "__main__":
    main()
