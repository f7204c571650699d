"""What runs behind a wrapper: `timeout 60 pytest`, `env X=1 make`, `uv run pytest`, `npx eslint`, `git -C d status`.

Rules match the program that really runs, so the wrappers are taken off first (and remembered: `rules explain`
shows them); `env`'s assignments join the command's prefix, `git -C dir` moves the directory it runs in, and a
program named by a path inside the worktree or a system `bin` directory (`.venv/bin/pytest`) is named by its
last part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coffee_maker.rules.parsed import SimpleCommand
from coffee_maker.rules.paths import PathUse

#: Where the system's own programs live: a program named by a path there is that program.
SYSTEM_BIN = ("/usr/bin/", "/bin/", "/usr/local/bin/", "/usr/sbin/", "/sbin/")
_WRAPPERS: dict[str, int] = {"time": 0, "nohup": 0, "command": 0, "builtin": 0, "exec": 0, "stdbuf": -1,
                             "nice": -1, "ionice": -1, "timeout": 1, "caffeinate": -1}
_GIT_GLOBAL = frozenset({"-C", "--no-pager", "-P", "--no-optional-locks", "--literal-pathspecs", "--paginate",
                         "--no-replace-objects"})
_XARGS_VALUE = frozenset({"-n", "-I", "-P", "-L", "-d", "-a", "-s", "-E", "-e"})
_RUNNERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"),
            ("pnpm", "exec"), ("yarn", "exec"), ("bundle", "exec"), ("conda", "run"), ("rye", "run")}

#: The words ``unwrap`` looks behind; any other word (without a `/`) is the program itself.
UNWRAP_HEADS = frozenset({"env", "git", "xargs", "npx", *_WRAPPERS, *(head for head, _ in _RUNNERS)})

Resolve = Callable[..., PathUse]  # ``PathResolver.resolve``


@dataclass(slots=True)
class Unwrapped:
    """The program behind the wrappers, its arguments (from word ``offset + 1`` on) and what the wrappers added."""

    program: str
    args: tuple[str, ...]
    offset: int
    env: tuple[tuple[str, str], ...]
    wrapped: tuple[str, ...]
    extra: tuple[PathUse, ...]  # the directories `git -C` names
    cwd: str | None


def is_program_path(word: str, resolve: Resolve) -> bool:
    """`.venv/bin/pytest` or `/usr/bin/python3` name the program; `/tmp/x/evil` stays a path."""
    if "/" not in word:
        return False
    if word.startswith(SYSTEM_BIN):
        return True
    return bool(resolve(word, ".", write=False).inside)


def unwrap(simple: SimpleCommand, cwd: str | None, resolve: Resolve) -> Unwrapped:
    """``simple``'s program once every wrapper in front of it is removed."""
    words = list(simple.words)
    wrapped: list[str] = []
    env = list(simple.env)
    extra: list[PathUse] = []
    offset = 0

    def drop(n: int) -> None:
        nonlocal words, offset
        del words[:n]
        offset += n

    while words and ("/" in words[0] or words[0] in UNWRAP_HEADS):
        head = words[0].rsplit("/", 1)[-1] if is_program_path(words[0], resolve) else words[0]
        if head == "env" and len(words) > 1:
            i = 1
            while i < len(words) and ("=" in words[i] or words[i] in ("-i", "-u", "--")):
                if "=" in words[i]:
                    env.append(tuple(words[i].split("=", 1)))  # type: ignore[arg-type]
                i += 2 if words[i] == "-u" else 1
            if i >= len(words):
                break
            wrapped.append("env")
            drop(i)
        elif head in _WRAPPERS and len(words) > 1:
            i = 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-n", "-s", "-k", "--signal", "--kill-after", "-c") else 1
            i += max(_WRAPPERS[head], 0)
            if i >= len(words):
                break
            wrapped.append(head)
            drop(i)
        elif len(words) > 2 and (head, words[1]) in _RUNNERS:
            i = 2
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("--with", "--python", "-p", "--env-file", "--package", "-C") else 1
            if i >= len(words):
                break
            wrapped.append(f"{head} {words[1]}")
            drop(i)
        elif head == "git" and len(words) > 2 and words[1] in _GIT_GLOBAL:
            if words[1] == "-C":
                extra.append(resolve(words[2], cwd, write=False))
                cwd = extra[-1].resolved if extra[-1].known else None
            del words[1:3 if words[1] == "-C" else 2]
        elif head == "xargs":
            i = 1
            while i < len(words) and words[i].startswith("-"):
                flag = words[i]
                if flag in ("-a", "--arg-file") and i + 1 < len(words) or flag.startswith("--arg-file="):
                    # `xargs -0 -a /proc/self/environ echo`: the file it reads its arguments from is read
                    extra.append(resolve(words[i + 1] if "=" not in flag else flag.split("=", 1)[1], cwd, write=False))
                i += 2 if flag in _XARGS_VALUE or (flag.startswith("--") and "=" not in flag and flag in (
                    "--max-args", "--max-procs", "--delimiter", "--arg-file", "--replace")) else 1
            wrapped.append("xargs")
            drop(i)
            if not words:
                words = ["echo"]
        elif head == "npx" and len(words) > 1:
            i = 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-p", "--package") else 1
            if i >= len(words):
                break
            wrapped.append("npx")
            drop(i)
        else:
            break
    program = words[0] if words else ""
    if is_program_path(program, resolve):
        program = program.rsplit("/", 1)[-1]
    return Unwrapped(program, tuple(words[1:]), offset, tuple(env), tuple(wrapped), tuple(extra), cwd)

