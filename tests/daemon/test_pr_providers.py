"""The whole pull-request loop through the real daemon on each provider besides GitHub's REST API: GitLab's
REST API and the real `gh` CLI, both against the shipped fake forge. PR opened → CI red → the log reaches the
agent → fix pushed → green → a review comment → its fix → the reply in the thread names that fix's commit."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from coffee_maker.vcs.forge import Forge
from coffee_maker.vcs.forge.gh import GhCliForge
from coffee_maker.vcs.forge.gitlab import GitLabForge
from tests.conftest import git
from tests.daemon.conftest import set_script
from tests.daemon.pr_harness import BRANCH, origin_file, running
from tests.daemon.test_pr_loop import FAILING_LOG
from tests.daemon.test_pr_rounds import ROUND_SCRIPT


def gitlab(fake: FakeForge, loaded: Any) -> Forge:
    return GitLabForge(fake.gitlab_url, fake.gitlab_project, "t0k", loaded.config.forge)


def gh_cli(tmp: Path) -> Any:
    """The real gh, talking to the fake as github.localhost through it as the HTTP proxy (Debian's gh reaches a
    local server no other way)."""
    if shutil.which("gh") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the gh CLI is missing in CI (`make sys-deps` installs it)")
        pytest.skip("the gh CLI is not installed (`make sys-deps`, or `apt-get install gh`)")

    def build(fake: FakeForge, loaded: Any) -> Forge:
        env = {"GH_TOKEN": "t0k", "GH_ENTERPRISE_TOKEN": "t0k", "HTTP_PROXY": fake.url, "http_proxy": fake.url,
               "GH_CONFIG_DIR": str(tmp / "gh"), "NO_PROXY": "", "GH_NO_UPDATE_NOTIFIER": "1",
               "PATH": os.environ.get("PATH", "")}
        return GhCliForge("o", "r", loaded.config.forge, hostname="github.localhost", env=env)

    return build


@pytest.fixture(params=["gitlab", "gh"])
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return gitlab if request.param == "gitlab" else gh_cli(tmp_path)


class TestTheLoopOnEachProvider:
    def test_ci_red_fixed_then_a_review_comment_answered_in_its_thread(self, sandbox: Path, fake: FakeForge,
                                                                      provider: Any) -> None:
        """Red (re-run once, red again) → the excerpt in the agent's prompt → the fix pushed to the same PR → the
        new head green; then an inline comment by a collaborator → its fix → "Fixed in <that commit>"."""
        set_script(sandbox, "priority-1.json", ROUND_SCRIPT)
        origin = sandbox.parent / "origin.git"
        with running(sandbox, fake, provider=provider) as run:
            job = fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
            wait_until(lambda: "+ 32" in origin_file(sandbox, "weather/convert.py")
                       and run.state().phase.value == "pr_open", what="the CI fix pushed")
            ci_prompt = next(p for p in run.prompts if "assert 211 == 212" in p)
            assert "'tests' failed" in ci_prompt and "Failing step: Run pytest" in ci_prompt
            assert fake.data.reruns == [job] and len(fake.data.pulls) == 1
            ci_fix = git(origin, "rev-parse", BRANCH).strip()
            fake.set_head(1, ci_fix)  # the forge sees the push
            fake.add_check(1, "tests", conclusion="success")
            wait_until(lambda: run.state().extra["ci"]["sha"] == ci_fix and fake.data.check_runs[ci_fix],
                       what="the fix's green head followed")
            root = fake.review_comment(1, "Please log the conversion", path="weather/convert.py", line=2,
                                       user="ann")
            wait_until(lambda: any(c.get("in_reply_to_id") == root for c in fake.data.review_comments[1])
                       and root in fake.data.resolved, what="the reply in the thread, resolved")
            review_fix = run.state().commit_sha
            assert review_fix != ci_fix and review_fix in git(origin, "log", "--format=%H", BRANCH).split()
            assert "ann on weather/convert.py:2: Please log the conversion" in run.prompts[-1]
            reply = next(c for c in fake.data.review_comments[1] if c.get("in_reply_to_id") == root)
            assert reply["body"] == f"Fixed in {review_fix[:7]}: Fixed the offset in c2f."
            assert run.state().extra["ci"]["rounds"] == 1
