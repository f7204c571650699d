"""The daemon running in a thread against the shipped fake forge, for the pull-request loop's tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from coffee_maker.agent.scripted import ScriptedBackend
from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.loop import Daemon
from coffee_maker.daemon.state import Phase
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from coffee_maker.vcs.forge import Forge
from coffee_maker.vcs.forge.github import GitHubForge
from tests.conftest import git

P1, BRANCH = "PRIORITY 1", "coffee-maker/priority-1-temperature-conversion-helpers"


class Run:
    """A daemon running in a thread against the fake forge, with every agent it made."""

    def __init__(self, daemon: Daemon, fake: FakeForge) -> None:
        self.daemon, self.fake = daemon, fake
        self.agents: list[ScriptedBackend] = []

    @property
    def prompts(self) -> list[str]:
        return [run.prompt for agent in self.agents for run in agent.runs]

    def state(self) -> Any:
        return self.daemon.store.get(P1)

    def phase(self) -> Phase | None:
        return state.phase if (state := self.state()) is not None else None


def github(fake: FakeForge, loaded: Any) -> Forge:
    return GitHubForge(fake.url, "o", "r", "t0k", loaded.config.forge)


@contextmanager
def running(sandbox: Path, fake: FakeForge, *, block_p2: bool = True, interval_s: float = 0.2,
            provider: Callable[[FakeForge, Any], Forge] | None = None, **forge: Any) -> Iterator[Run]:
    """``provider`` builds the forge from the fake and the loaded configuration (default: GitHub's REST API)."""
    set_config(sandbox / "coffee_maker.toml", "daemon", poll_interval_s=interval_s)
    if forge:
        set_config(sandbox / "coffee_maker.toml", "forge", **forge)
    loaded = load_config(sandbox)
    daemon = wiring.build_daemon(loaded, threading.Event())
    daemon.services.forge = (provider or github)(fake, loaded)
    run = Run(daemon, fake)
    make_agent: Callable[..., Any] = daemon.services.agent_for

    def agent_for(*args: Any, **kwargs: Any) -> Any:
        agent = make_agent(*args, **kwargs)
        run.agents.append(agent)
        return agent

    daemon.services.agent_for = agent_for
    if block_p2:
        daemon.store.transition("PRIORITY 2", Phase.BLOCKED, reason="not part of this test")
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(daemon.run()), daemon=True)
    thread.start()
    try:
        wait_until(lambda: run.phase() is Phase.PR_OPEN and fake.data.pulls, what="the PR on the fake forge")
        yield run
    finally:
        daemon.request_stop()
        thread.join(60)
    assert result == [0]


def origin_file(sandbox: Path, path: str) -> str:
    return git(sandbox.parent / "origin.git", "show", f"{BRANCH}:{path}")
