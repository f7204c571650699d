"""Built-in checks a rule can name (``check = "…"``): what a regex on the text cannot see.

Each check is a plain predicate on one simple command's subject (shell) or on the
request's subject (file tools), so a rule stays data: name, tool, check, decision,
class, reason.
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from coffee_maker.rules.assignments import (
    bare_assignment,
    secret_assignment,
    shaping_assignment,
    shaping_prefix,
)
from coffee_maker.rules.env_reads import ENV_PROGRAMS, env_dump, secret_variable
from coffee_maker.rules.names import NOT_SECRET, SECRET_NAME
from coffee_maker.rules.nested import DEFERRED, INTERPRETERS, SHELLS
from coffee_maker.rules.subject import CommandSubject, Subject

_EVAL_FLAGS = frozenset({"-c", "-e", "-E", "-p", "-r", "--eval", "--print", "-pe", "-ne", "-pi", "-lne", "-ane",
                         "-Command", "-command", "eval"})
_NETWORK_ALWAYS = frozenset({"nc", "ncat", "netcat", "socat", "telnet", "ftp", "sftp", "tftp", "scp"})
_HTTP_CLIENTS = frozenset({"curl", "wget", "http", "https", "xh", "httpie"})
_AWKS = frozenset({"awk", "gawk", "mawk", "nawk"})
_SOURCE = frozenset({"source", "."})
_RUNS_A_SHELL = frozenset({"xargs", "find", "watch", "parallel"})  # run a shell when one is named in their words
_UPLOAD_FLAGS = re.compile(r"^(-d|--data(-\w+)?|-F|--form(-string)?|-T|--upload-file|--post-(file|data)|"
                           r"--body-file|-X|--request|--method)(=|$)|^-d.")
_SECRET_GLOB = re.compile(r"(?i)(^|/|\*)(\.env(\.|\*|$)|\.ssh|id_rsa|id_ed25519|id_ecdsa|\.pem$|\.key$|\.p12$|"
                          r"\.pfx$|\.aws|\.netrc|\.npmrc|\.pypirc|\.git-credentials|credentials|secrets?\.|\.gnupg|"
                          r"\.kube|\.docker/config)")
_BUILD_OUTPUTS = re.compile(r"^(build|dist|target|out|_build|node_modules|\.pytest_cache|__pycache__|\.mypy_cache|"
                            r"\.ruff_cache|\.tox|\.nox|htmlcov|coverage|\.coverage|\.next|\.nuxt|\.turbo|\.cache|"
                            r"\.gradle|\.parcel-cache|cmake-build-[\w-]+|[\w.-]+\.egg-info|bin|obj|site|\.eggs)$")
_LIFECYCLE = re.compile(r'"(pre|post)?(install|uninstall|prepare|prepublish(Only)?|prepack|postpack|publish)"\s*:|'
                        r"\[build-system\]|\bbuild-backend\b|\[tool\.hatch\.build\.hooks|cmdclass|"
                        r"\bpre-commit\b|\bpostinstall\b")


@functools.lru_cache(maxsize=1024)
def _is_interpreter(program: str) -> bool:
    """Programs repeat (a 4 KB command has ~200 parts, a handful of programs): match each name once."""
    return INTERPRETERS.match(program) is not None


def _opaque(cmd: CommandSubject, root: Path | None = None) -> bool:
    """Code the rules cannot read: `eval`, a one-liner, a program or script from a variable."""
    program, args = cmd.program, cmd.args
    if cmd.dynamic_program or program in ("eval", "exec"):
        return True
    if program in _SOURCE and cmd.source.dynamic:
        return True
    if program in DEFERRED and cmd.source.dynamic:  # `trap "$X" EXIT`, `alias ll="$X"`: code from a variable
        first = len(cmd.source.words) - len(args)
        return any(cmd.source.is_dynamic(first + i) for i, a in enumerate(args) if program == "trap" or "=" in a)
    if program in SHELLS:
        if "-c" in args:
            at = args.index("-c")
            return at + 1 >= len(args) or cmd.source.is_dynamic(len(cmd.source.words) - len(args) + at + 1)
        return False
    if _is_interpreter(program):
        if any(a in _EVAL_FLAGS for a in _interpreter_flags(args)):
            return True
        script = next((a for a in args if not a.startswith("-")), None)
        flags_only = script is None and "-m" not in args
        return flags_only and (cmd.source.stdin_text is not None or "-" in args) and not _version_only(args)
    if program in _AWKS:
        return any(re.search(r"system\s*\(|\|\s*getline|\|&|print[^;}]*\|\s*\"|ENVIRON", a) for a in args)
    if program in _RUNS_A_SHELL and any(a in SHELLS for a in args):
        return True
    return False


def _interpreter_flags(args: tuple[str, ...]) -> list[str]:
    """The interpreter's own options: those before the script or `-m module` (the rest belong to the script)."""
    flags = []
    for a in args:
        if a == "-m" or not a.startswith("-"):
            break
        flags.append(a)
    return flags


def _version_only(args: tuple[str, ...]) -> bool:
    return bool(args) and all(a in ("--version", "-V", "-VV", "--help", "-h") for a in args)


def _shell_from_pipe(cmd: CommandSubject, root: Path | None = None) -> bool:
    """`curl … | sh`, `base64 -d | bash`, `… | python`: whatever arrives on stdin is run."""
    if not cmd.source.piped_stdin:
        return False
    program, args = cmd.program, cmd.args
    if program in SHELLS:
        return "-c" not in args and not any(not a.startswith("-") for a in args) or "-s" in args
    if _is_interpreter(program):
        return (not any(not a.startswith("-") for a in args) or "-" in args) and "-m" not in args and not any(
            a in _EVAL_FLAGS for a in _interpreter_flags(args)) and not _version_only(args)
    return program in _SOURCE and any(a in ("/dev/stdin", "-") for a in args)


def _upload(cmd: CommandSubject, root: Path | None = None) -> bool:
    """Data leaving the machine: a request body, a form, an upload, a raw socket, a copy to another host."""
    program, args = cmd.program, cmd.args
    if program in _NETWORK_ALWAYS:
        return True
    if program in _HTTP_CLIENTS:
        if any(_UPLOAD_FLAGS.match(a) for a in args):
            return not (("-X" in args or "--request" in args) and _method(args) in ("GET", "HEAD", "OPTIONS"))
        return program in ("http", "https", "xh") and any(re.match(r"^[\w-]+(:=|=|@)", a) for a in args[1:])
    if program in ("rsync", "rclone"):
        return any(re.match(r"^([\w.-]+@)?[\w.-]+:", a) for a in args) or program == "rclone"
    if program == "ssh":
        return True
    if program == "git" and args[:1] == ("send-email",):
        return True
    return False


def _method(args: tuple[str, ...]) -> str:
    for i, a in enumerate(args):
        if a in ("-X", "--request") and i + 1 < len(args):
            return args[i + 1].upper()
    return "GET"


def _build_output(cmd: CommandSubject, root: Path | None = None) -> bool:
    """`rm -rf build dist` inside the worktree: every target exists, is a known output name and git tracks none of it."""
    if cmd.program not in ("rm", "rmdir") or not cmd.paths or root is None:
        return False
    targets = [p for p in cmd.paths if p.write]
    if not targets or not all(p.inside and p.known and p.resolved != "." for p in targets):
        return False
    if not all(_BUILD_OUTPUTS.match(Path(p.resolved).name) and (root / p.resolved).exists() for p in targets):
        return False
    try:
        tracked = subprocess.run(["git", "-C", str(root), "ls-files", "--", *(p.resolved for p in targets)],
                                 capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return tracked.returncode == 0 and not tracked.stdout.strip()


def secret_search(subject: Subject, tool_input: Mapping[str, Any]) -> bool:
    """Grep or Glob aimed at secret files (by glob, type or path)."""
    aims = [str(tool_input.get(k) or "") for k in ("pattern", "glob", "path")] if subject.tool == "Glob" else [
        str(tool_input.get(k) or "") for k in ("glob", "path")]
    return any(a and _SECRET_GLOB.search(a) for a in aims)


def lifecycle_script(subject: Subject, tool_input: Mapping[str, Any]) -> bool:
    """An edit to a manifest that adds what runs at install or build time (postinstall, build hooks)."""
    names = {Path(p.resolved).name for p in subject.paths}
    if not names & {"package.json", "pyproject.toml", "setup.py", "setup.cfg", "build.rs", "Cargo.toml",
                    "composer.json", "Gemfile", "build.gradle", "build.gradle.kts", "pom.xml", "Makefile"}:
        return False
    if names & {"setup.py", "build.rs"}:
        return True
    texts = [str(tool_input.get(k) or "") for k in ("content", "new_string", "new_source")]
    texts += [str(e.get("new_string") or "") for e in tool_input.get("edits") or [] if isinstance(e, Mapping)]
    return any(_LIFECYCLE.search(t) for t in texts)


def _writes_outside(cmd: CommandSubject, root: Path | None = None) -> bool:
    for p in cmd.paths:  # a loop, not any(…): these run on every part of every command
        if p.write and not p.inside and p.known:
            return True
    return False


def _reads_outside(cmd: CommandSubject, root: Path | None = None) -> bool:
    for p in cmd.paths:
        if not p.inside and p.known:
            return True
    return False


def _unknown_path(cmd: CommandSubject, root: Path | None = None) -> bool:
    for p in cmd.paths:
        if not p.known:
            return True
    return False


#: Every program a check above looks at by name (interpreters aside): for any other program only the
#: part's variables, its paths and a dynamic program can make a check hold.
_NAMED_PROGRAMS = frozenset({"eval", "exec", "rsync", "rclone", "ssh", "git", "rm", "rmdir", *SHELLS, *_SOURCE, *_AWKS,
                             *DEFERRED,
                             *_RUNS_A_SHELL, *ENV_PROGRAMS, *_NETWORK_ALWAYS, *_HTTP_CLIENTS})


def inert(cmd: CommandSubject) -> bool:
    """True when no check in ``COMMAND_CHECKS`` can hold for ``cmd``, so none needs to run.

    Why: a 4 KB command has ~200 parts and ~8 checks would run on each, though nearly every part is an
    ordinary program reading no variable and naming only known paths inside the worktree. This is a
    conservative summary of the checks' conditions: a program none of them names, not an interpreter,
    not built from an expansion; no variable read, no prefix that changes what runs and no `!` (indirect
    expansion); every path inside,
    known and not an `environ` file. `tests/interaction/test_check_gate.py` holds it to the checks.
    """
    if cmd.dynamic_program or cmd.variables or cmd.shaping or cmd.program in _NAMED_PROGRAMS \
            or _is_interpreter(cmd.program):
        return False
    if "!" in cmd.source.text:
        return False
    for p in cmd.paths:
        if not p.inside or not p.known or "/environ" in p.resolved:
            return False
    return True


class CommandCheck(Protocol):
    """A check on one part; only those in ``ROOTED`` look at the worktree root, the others are called
    without it, as they are (no wrapper per call: the engine runs ~8 of them on every part)."""

    def __call__(self, cmd: CommandSubject, root: Path | None = None, /) -> bool: ...


ROOTED = frozenset({"build-output"})
COMMAND_CHECKS: dict[str, CommandCheck] = {
    "opaque-code": _opaque,
    "shell-from-pipe": _shell_from_pipe,
    "env-dump": env_dump,
    "secret-variable": secret_variable,
    "upload": _upload,
    "writes-outside": _writes_outside,
    "reads-outside": _reads_outside,
    "unknown-path": _unknown_path,
    "build-output": _build_output,
    "shaping-prefix": shaping_prefix,
}
RequestCheck = Callable[[Subject, Mapping[str, Any]], bool]
REQUEST_CHECKS: dict[str, RequestCheck] = {
    "secret-search": secret_search,
    "lifecycle-script": lifecycle_script,
    "unparseable": lambda s, i: s.parse_error is not None,
    "defines-function": lambda s, i: bool(s.parsed is not None and s.parsed.functions),
    "secret-test": lambda s, i: s.parsed is not None and any(
        n not in NOT_SECRET and SECRET_NAME.search(n) for n in s.parsed.loose_variables),
    "bare-assignment": bare_assignment,
    "shaping-assignment": shaping_assignment,
    "secret-assignment": secret_assignment,
}
