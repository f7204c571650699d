"""Claims on a shared remote: real git, one bare origin, several clones standing in for machines."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from pydantic import ValidationError

from coffee_maker.config.daemon import DaemonSettings
from coffee_maker.vcs.claims import (
    ClaimHeldError,
    ClaimLostError,
    ClaimNamespaceError,
    ClaimStore,
    owner_id,
)
from tests.conftest import git
from tests.vcs.remote_machines import LEASE_S, MARGIN_S, REF, Clock, race, remote_sha


class TestAcquire:
    def test_the_second_claimant_is_refused_by_the_server(self, machine: Callable[..., ClaimStore],
                                                          shared_origin: Path) -> None:
        """A claim ref that exists and is not expired makes another machine's claim fail with who holds it."""
        first, second = machine(), machine()
        mine = first.acquire("PRIORITY 1", "p1")
        with pytest.raises(ClaimHeldError, match="PRIORITY 1 \\(p1\\) is claimed by machine0") as caught:
            second.acquire("PRIORITY 1", "p1")
        assert caught.value.holder == mine
        assert remote_sha(shared_origin, REF) == mine.sha

    def test_the_claim_commit_carries_owner_priority_expiry_and_sequence(self, machine: Callable[..., ClaimStore],
                                                                         shared_origin: Path) -> None:
        """The claim is an empty-tree commit whose message says who, what, until when, and which renewal."""
        store = machine(clock=Clock(2_000_000.0))
        claim = store.acquire("PRIORITY 1", "p1")
        message = git(shared_origin, "log", "-1", "--format=%B", REF)
        assert "Claim-Owner: machine0" in message
        assert "Claim-Priority: PRIORITY 1" in message
        assert f"Claim-Expires: {2_000_000.0 + LEASE_S:.3f}" in message
        assert "Claim-Sequence: 1" in message
        assert git(shared_origin, "rev-parse", f"{REF}^{{tree}}").strip() == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        assert git(shared_origin, "rev-list", "--count", REF).strip() == "1"
        assert claim.expires_at == 2_000_000.0 + LEASE_S

    @pytest.mark.parametrize("racers", [2, 8])
    def test_racing_machines_exactly_one_wins(self, machine: Callable[..., ClaimStore], shared_origin: Path,
                                              racers: int) -> None:
        """Several machines claiming one priority at the same instant: one claim, the rest refused."""
        for round_ in range(3):
            stores = [machine() for _ in range(racers)]
            won, errors = race([partial(s.acquire, f"P{round_}", f"p{round_}") for s in stores])
            assert len(won) == 1, errors
            assert len(errors) == racers - 1
            assert all(isinstance(e, ClaimHeldError) for e in errors), errors
            assert remote_sha(shared_origin, f"refs/coffee-maker/claims/p{round_}") == won[0].sha

    def test_lanes_of_one_clone_racing_exactly_one_wins(self, machine: Callable[..., ClaimStore]) -> None:
        """Lanes share a clone: their racing claims still give one winner."""
        first = machine(owner="daemon/lane")
        lanes = [first, *(ClaimStore(first.repo, remote="origin", owner="daemon/lane", lease_s=LEASE_S,
                                     margin_s=MARGIN_S, clock=first.clock) for _ in range(4))]
        won, errors = race([partial(s.acquire, "P", "p1") for s in lanes])
        assert len(won) == 1
        assert [type(e) for e in errors] == [ClaimHeldError] * 4
        assert "this daemon (another lane)" in str(errors[0])

    def test_a_restarted_daemon_resumes_its_own_claim_only_when_asked(self, machine: Callable[..., ClaimStore]) -> None:
        """The same owner id after a restart adopts its claim with resume=True (CAS), and is refused without it."""
        store = machine(owner="me")
        before = store.acquire("P", "p1")
        with pytest.raises(ClaimHeldError):
            store.acquire("P", "p1")
        again = store.acquire("P", "p1", resume=True)
        assert again.sequence == before.sequence + 1
        assert store.read("p1") == again

    def test_a_slug_that_cannot_name_a_ref_is_a_sentence(self, machine: Callable[..., ClaimStore]) -> None:
        """A bad slug is refused with what is allowed, before anything is pushed."""
        with pytest.raises(Exception, match="cannot name a claim ref"):
            machine().acquire("P", "bad slug..")


class TestRenew:
    def test_the_owner_renews_and_the_lease_moves_on(self, machine: Callable[..., ClaimStore], shared_origin: Path) -> None:
        """Renewal is a compare-and-swap on our value: new expiry, next sequence, the remote follows."""
        clock = Clock()
        store = machine(clock=clock)
        claim = store.acquire("P", "p1")
        assert not store.renew_due(claim)
        clock.now += LEASE_S / 3
        assert store.renew_due(claim)
        renewed = store.renew(claim)
        assert (renewed.sequence, renewed.expires_at) == (2, clock.now + LEASE_S)
        assert remote_sha(shared_origin, REF) == renewed.sha

    def test_a_stale_owner_cannot_renew(self, machine: Callable[..., ClaimStore], shared_origin: Path) -> None:
        """After a take-over the old owner's renewal is refused and the new owner's ref stays."""
        clock = Clock()
        old, new = machine(clock=clock), machine(clock=clock)
        stale = old.acquire("P", "p1")
        clock.now += LEASE_S + MARGIN_S + 1
        taken = new.acquire("P", "p1")
        with pytest.raises(ClaimLostError, match="no longer ours \\(now held by machine1\\)"):
            old.renew(stale)
        assert remote_sha(shared_origin, REF) == taken.sha

    def test_renewing_an_old_value_of_our_own_claim_is_refused(self, machine: Callable[..., ClaimStore]) -> None:
        """Only the latest value can be renewed: a lane holding an outdated claim does not win a CAS."""
        store = machine()
        first = store.acquire("P", "p1")
        store.renew(first)
        with pytest.raises(ClaimLostError):
            store.renew(first)


class TestExpiry:
    def test_the_margin_protects_a_claim_from_a_fast_clock(self, machine: Callable[..., ClaimStore],
                                                           shared_origin: Path) -> None:
        """Past expiry but inside the skew margin the claim holds; past the margin it is taken over."""
        mine_clock, their_clock = Clock(), Clock()
        mine = machine(clock=mine_clock).acquire("P", "p1")
        other = machine(clock=their_clock)
        their_clock.now = mine.expires_at + MARGIN_S - 0.5  # their clock runs ahead: expired, not by the margin
        with pytest.raises(ClaimHeldError):
            other.acquire("P", "p1")
        with pytest.raises(ClaimHeldError):
            other.take_over(mine)
        assert remote_sha(shared_origin, REF) == mine.sha
        their_clock.now = mine.expires_at + MARGIN_S + 0.5
        taken = other.acquire("P", "p1")
        assert (taken.owner, taken.sequence) == ("machine1", mine.sequence + 1)
        assert remote_sha(shared_origin, REF) == taken.sha

    def test_racing_take_overs_of_an_expired_claim_give_one_owner(self, machine: Callable[..., ClaimStore],
                                                                  shared_origin: Path) -> None:
        """Many machines see the same expired claim: one compare-and-swap lands."""
        clock = Clock()
        dead = machine(clock=clock).acquire("P", "p1")
        clock.now += LEASE_S + MARGIN_S + 1
        takers = [machine(clock=clock) for _ in range(6)]
        won, errors = race([partial(s.take_over, dead) for s in takers])
        assert len(won) == 1
        assert [type(e) for e in errors] == [ClaimHeldError] * 5
        assert remote_sha(shared_origin, REF) == won[0].sha


class TestRelease:
    def test_release_deletes_the_claim(self, machine: Callable[..., ClaimStore], shared_origin: Path) -> None:
        """Released, the ref is gone and the next machine claims it afresh."""
        store, other = machine(), machine()
        store.release(store.acquire("P", "p1"))
        assert remote_sha(shared_origin, REF) == ""
        assert other.acquire("P", "p1").sequence == 1

    def test_a_stale_owner_cannot_release(self, machine: Callable[..., ClaimStore], shared_origin: Path) -> None:
        """Release with lease: an old owner's release leaves the new owner's claim in place."""
        clock = Clock()
        old, new = machine(clock=clock), machine(clock=clock)
        stale = old.acquire("P", "p1")
        clock.now += LEASE_S + MARGIN_S + 1
        taken = new.acquire("P", "p1")
        with pytest.raises(ClaimLostError):
            old.release(stale)
        assert remote_sha(shared_origin, REF) == taken.sha


class TestList:
    def test_a_fetch_meeting_another_processs_ref_lock_is_tried_again(self, machine: Callable[..., ClaimStore]) -> None:
        """`coffee-maker status` in another shell fetches the claims into the same clone: git then refuses to
        move a mirror ref it holds locked. Reading the claims waits a moment and reads them, rather than report
        none (the merge check before a PR went by without the other daemons' PRs this way, seen in CI)."""
        store = machine(owner="daemon/a")
        store.acquire("P", "p1")
        assert [c.slug for c in store.list()] == ["p1"]
        store.renew(store.read("p1"))  # the remote moves on: the next fetch must update the mirror ref
        lock = store.repo / ".git" / "refs" / "coffee-maker-seen" / "claims" / "p1.lock"
        lock.write_text("")
        release = threading.Timer(0.3, lock.unlink)
        release.start()
        try:
            assert [c.slug for c in store.list()] == ["p1"]
        finally:
            release.join()

    def test_every_machine_sees_every_claim(self, machine: Callable[..., ClaimStore]) -> None:
        """One fetch of the namespace lists all claims with owner, priority and expiry; released ones vanish."""
        a, b, reader = machine(), machine(), machine()
        a.acquire("P1", "p1")
        b.acquire("P2", "p2")
        dropped = b.acquire("P3", "p3")
        assert [(c.slug, c.owner, c.priority_id) for c in reader.list()] == [
            ("p1", "machine0", "P1"), ("p2", "machine1", "P2"), ("p3", "machine1", "P3")]
        b.release(dropped)
        assert [c.slug for c in reader.list()] == ["p1", "p2"]

    def test_a_ref_that_is_no_claim_is_never_overwritten(self, machine: Callable[..., ClaimStore],
                                                         shared_origin: Path) -> None:
        """Something else at a claim ref is treated as held forever, not as free or expired."""
        seed = shared_origin.parent / "seed"
        git(seed, "push", "-q", "origin", f"HEAD:{REF}")
        before = remote_sha(shared_origin, REF)
        with pytest.raises(ClaimHeldError, match="something else"):
            machine(clock=Clock(1e12)).acquire("P", "p1")
        assert remote_sha(shared_origin, REF) == before


class TestRefusedNamespace:
    @pytest.fixture
    def guarded(self, shared_origin: Path) -> Path:
        hook = shared_origin / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\nwhile read old new ref; do\n  case \"$ref\" in refs/coffee-maker/*)\n"
                        "    echo \"only branches and tags here\" >&2; exit 1;;\n  esac\ndone\n")
        hook.chmod(0o755)
        return shared_origin

    def test_a_refusing_server_gets_one_sentence_saying_what_to_configure(
            self, guarded: Path, machine: Callable[..., ClaimStore]) -> None:
        """A pre-receive hook refusing refs/coffee-maker/* names the setting to change, in one sentence."""
        with pytest.raises(ClaimNamespaceError) as caught:
            machine().acquire("P", "p1")
        text = str(caught.value)
        assert "pre-receive hook declined" in text
        assert 'set [daemon] claim_namespace = "refs/heads/coffee-maker-claims"' in text
        assert text.count(". ") == 0 and "\n" not in text
        assert remote_sha(guarded, REF) == ""

    def test_a_hidden_namespace_gets_the_same_sentence(self, shared_origin: Path,
                                                       machine: Callable[..., ClaimStore]) -> None:
        """receive.hideRefs (how GitHub and GitLab guard their own namespaces) reads as a refusal, not a lost race."""
        git(shared_origin, "config", "receive.hideRefs", "refs/coffee-maker")
        with pytest.raises(ClaimNamespaceError, match="hidden ref.*set \\[daemon\\] claim_namespace"):
            machine().acquire("P", "p1")
        assert remote_sha(shared_origin, REF) == ""

    def test_the_branch_namespace_works_where_custom_refs_are_refused(
            self, guarded: Path, machine: Callable[..., ClaimStore]) -> None:
        """With claim_namespace under refs/heads the same claims work on a branches-only server."""
        a = machine(namespace="refs/heads/coffee-maker-claims")
        b = machine(namespace="refs/heads/coffee-maker-claims")
        a.acquire("P", "p1")
        with pytest.raises(ClaimHeldError):
            b.acquire("P", "p1")
        assert remote_sha(guarded, "refs/heads/coffee-maker-claims/claims/p1") != ""
        assert [c.owner for c in b.list()] == ["machine0"]


class TestSettings:
    def test_defaults_and_a_bad_namespace(self, tmp_path: Path) -> None:
        """The lease defaults to five minutes; a namespace that is not a ref prefix is a sentence."""
        settings = DaemonSettings()
        assert (settings.claim_lease_s, settings.claim_skew_margin_s, settings.claim_namespace) == (
            300.0, 30.0, "refs/coffee-maker")
        with pytest.raises(ValidationError, match="should be a ref prefix"):
            DaemonSettings(claim_namespace="coffee maker")
        assert DaemonSettings(claim_namespace="refs/heads/x/").claim_namespace == "refs/heads/x"

    def test_the_owner_id_is_stable_per_state_dir(self, tmp_path: Path) -> None:
        """One state dir, one owner across restarts; another state dir, another owner."""
        assert owner_id(tmp_path / "a") == owner_id(tmp_path / "a")
        assert owner_id(tmp_path / "a") != owner_id(tmp_path / "b")


CONTENDER = """
import sys, time
from pathlib import Path
from coffee_maker.vcs.claims import ClaimHeldError, ClaimStore
clone, owner, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
store = ClaimStore(clone, remote="origin", owner=owner)
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
try:
    store.acquire("PRIORITY 1", "p1")
except ClaimHeldError:
    print("held")
else:
    print("won")
"""


class TestProcesses:
    def test_racing_daemon_processes_exactly_one_wins(self, machine: Callable[..., ClaimStore],
                                                      shared_origin: Path, tmp_path: Path) -> None:
        """Separate Python processes, one per machine, released at once: one claim, the rest told it is held."""
        go = tmp_path / "go"
        stores = [machine() for _ in range(5)]
        procs = [subprocess.Popen([sys.executable, "-c", CONTENDER, str(s.repo), s.owner, str(go)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in stores]
        go.write_text("go\n")
        outcomes = [p.communicate(timeout=120) for p in procs]
        verdicts = sorted(out.strip() for out, _ in outcomes)
        assert verdicts == ["held"] * 4 + ["won"], outcomes
        winner = stores[[out.strip() for out, _ in outcomes].index("won")]
        assert [(c.owner, c.slug) for c in winner.list()] == [(winner.owner, "p1")]
