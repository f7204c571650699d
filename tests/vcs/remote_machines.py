"""Machines sharing one remote, for the claim and checkpoint tests: a bare origin, clones, a settable clock.

Test modules import the fixtures by name (pytest finds them in the module's namespace).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from coffee_maker.vcs.claims import Claim, ClaimStore
from tests.conftest import git

LEASE_S = 60.0
MARGIN_S = 5.0
REF = "refs/coffee-maker/claims/p1"


class Clock:
    """A settable wall clock, so lease expiry is tested without waiting for it."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def shared_origin(tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "README.md").write_text("# sandbox\n")
    git(seed, "add", "README.md")
    git(seed, "commit", "-q", "-m", "chore: initial")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return bare


@pytest.fixture
def machine(shared_origin: Path, tmp_path: Path) -> Callable[..., ClaimStore]:
    """A new clone of origin (a machine) with its own owner id; all share ``clock`` unless given one."""
    count = iter(range(1000))

    def make(owner: str | None = None, clock: Clock | None = None, **kwargs: object) -> ClaimStore:
        n = next(count)
        clone = tmp_path / f"machine{n}"
        if not clone.exists():
            git(tmp_path, "clone", "-q", str(shared_origin), str(clone))
        return ClaimStore(clone, remote="origin", owner=owner or f"machine{n}", lease_s=LEASE_S,
                          margin_s=MARGIN_S, clock=clock or Clock(), **kwargs)  # type: ignore[arg-type]

    return make


def remote_sha(origin: Path, ref: str) -> str:
    return git(origin, "for-each-ref", "--format=%(objectname)", ref).strip()


def race(contenders: list[Callable[[], Claim]]) -> tuple[list[Claim], list[Exception]]:
    """Start every contender at the same instant; return the claims won and the errors raised."""
    barrier = threading.Barrier(len(contenders))
    won: list[Claim] = []
    errors: list[Exception] = []
    guard = threading.Lock()

    def attempt(contend: Callable[[], Claim]) -> None:
        barrier.wait()
        try:
            result = contend()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the caller
            with guard:
                errors.append(exc)
        else:
            with guard:
                won.append(result)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won, errors
