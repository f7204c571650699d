"""The receipt refreshed between pushes rewrites that PR's body only: a PR a person merged a moment ago is
not replaced by a new one (it was, when the refresh went through ``open_or_update``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from coffee_maker.config.git import ForgeSettings
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.vcs.forge import Forge
from coffee_maker.vcs.forge.github import GitHubForge
from coffee_maker.vcs.forge.gitlab import GitLabForge

PROVIDERS: dict[str, Callable[[FakeForge], Forge]] = {
    "github": lambda fake: GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings()),
    "gitlab": lambda fake: GitLabForge(fake.gitlab_url, fake.gitlab_project, "t0k", ForgeSettings()),
}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_body_of_a_merged_pr_is_rewritten_and_no_pr_opened(provider: str) -> None:
    with FakeForge(token="t0k") as fake:
        forge = PROVIDERS[provider](fake)
        pr = forge.open_or_update(branch="cm/p1", base="main", title="PRIORITY 1: One", body="first")
        forge.update_body(pr, "while open")
        assert fake.pull(pr.number)["body"] == "while open"
        fake.set_merged(pr.number)
        forge.update_body(pr, "the receipt, refreshed as it merged")
        found = forge.find("cm/p1")
        assert found is not None and found.number == pr.number and found.state.value == "merged"
        assert fake.pull(pr.number)["body"] == "the receipt, refreshed as it merged"
        assert len(fake.data.pulls) == 1
