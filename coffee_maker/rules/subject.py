"""What a request touches: the one place that reads a tool call's input.

A request's *subject* is what rules match on, never the raw text: for a shell command,
each simple command's program (wrappers such as `timeout 60`, `uv run`, `npx`,
`.venv/bin/` removed), subcommand, the paths it reads and writes — resolved against the
worktree, following `cd` through the list, resolving symlinks, expanding `~` and `$HOME` —
the variables it reads and the network destinations it names; for a file tool, its path.
Where each path points is `paths.PathResolver`'s business.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coffee_maker.rules.build_settings import settings_in_arguments
from coffee_maker.rules.parsed import ParsedCommand, SimpleCommand
from coffee_maker.rules.paths import PathResolver, PathUse, expand_home
from coffee_maker.rules.shaping import (
    SETTERS,
    UNKNOWN_VALUE,
    changes_what_runs,
    shapes,
    variables_set_by,
)
from coffee_maker.rules.shell import parse
from coffee_maker.rules.wrappers import UNWRAP_HEADS, unwrap

#: Input keys that name a file or directory, in the order a tool's main path is looked up.
PATH_KEYS = ("file_path", "notebook_path", "path")
#: Input keys that summarise a request in one line (logs, notices, learned rules).
SUMMARY_KEYS = ("command", *PATH_KEYS, "pattern", "url", "query")

#: Every match holds a `:` (`scheme://` or `user@host:`), so a word without one is not tried.
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://([^/\s:@]*@)?(?P<host>[^/\s:?#]+)|(?:[\w.-]+@)(?P<scp>[\w.-]+\.[a-z]{2,}):)",
                  re.IGNORECASE)
#: Programs whose every path argument is written (created, changed or removed).
_WRITERS = frozenset({"rm", "rmdir", "mv", "touch", "mkdir", "tee", "ln", "chmod", "chown", "chgrp", "truncate",
                      "shred", "unlink", "install"})
#: Programs whose words are text, not paths.
_TEXT_ARGS = frozenset({"echo", "printf", "true", "false", "exit", "return", "test", "[", "expr", "seq", "sleep",
                        "date", "basename", "dirname"})
_NONE: frozenset[int] = frozenset()


# Not frozen (read-only by convention): built per part, like shell.SimpleCommand — see there why.
@dataclass(slots=True)
class CommandSubject:
    """One simple command as rules see it."""

    program: str
    args: tuple[str, ...]
    text: str  # "program arg …" after wrappers: what `command` regexes search
    cwd: str | None  # the directory it runs in, relative to the worktree ("." at the top); None: unknown
    paths: tuple[PathUse, ...]
    variables: frozenset[str]
    hosts: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    source: SimpleCommand
    dynamic_program: bool = False
    wrapped: tuple[str, ...] = ()  # wrappers removed (timeout, uv run, …)
    shaping: tuple[str, ...] = ()  # variables its prefix sets that change what it runs (`LD_PRELOAD=…`)

    @property
    def subcommand(self) -> str | None:
        return next((a for a in self.args if not a.startswith("-")), None)


@dataclass(frozen=True, slots=True)
class Subject:
    """What one request touches."""

    tool: str
    commands: tuple[CommandSubject, ...] = ()
    paths: tuple[PathUse, ...] = ()
    parse_error: str | None = None
    summary: str = ""
    parsed: ParsedCommand | None = None
    shaping: tuple[str, ...] = ()  # variables a statement sets that change what later commands run (`PATH=…;`)


def relative_to(text: str, root: Path | str | None) -> str:
    """``text`` without a leading ``root/`` (the root as given or its real path); anything else as it is.

    The one way a call is shown relative to the repository: to the person asked, in the dev log,
    the PR body and a saved "always" rule.
    """
    if not root:
        return text
    for top in dict.fromkeys((str(root).rstrip("/"), os.path.realpath(root).rstrip("/"))):
        if top and text.startswith(top + "/"):
            return text[len(top) + 1:]
    return text


def summary_of(tool_input: Mapping[str, Any], root: Path | str | None = None) -> str:
    """The one-line gist of a tool call's input: its command, path, pattern, URL or query (relative to ``root``)."""
    for key in SUMMARY_KEYS:
        if tool_input.get(key):
            return relative_to(str(tool_input[key]), root)
    return ", ".join(sorted(str(k) for k in tool_input))


def main_path(tool_input: Mapping[str, Any], root: Path | str | None = None) -> str | None:
    """The path a file tool works on, relative to ``root`` when inside it."""
    found = next((str(tool_input[k]) for k in PATH_KEYS if tool_input.get(k)), None)
    return None if found is None else relative_to(found, root)


def command_of(tool_input: Mapping[str, Any]) -> str | None:
    """The shell command a call runs, if it runs one."""
    command = tool_input.get("command")
    return str(command) if command else None


class SubjectBuilder:
    """Computes subjects relative to one worktree root."""

    def __init__(self, root: Path) -> None:
        self.paths = PathResolver(root)
        self.root = self.paths.root
        self.resolve = self.paths.resolve

    def file_subject(self, tool: str, tool_input: Mapping[str, Any]) -> Subject:
        with self.paths.one_request():
            return self._file_subject(tool, tool_input)

    def shell_subject(self, command: str) -> Subject:
        with self.paths.one_request():
            return self._shell_subject(command)

    def _file_subject(self, tool: str, tool_input: Mapping[str, Any]) -> Subject:
        write = tool in ("Write", "Edit", "MultiEdit", "NotebookEdit")
        paths = tuple(self.resolve(str(tool_input[k]), ".", write=write) for k in PATH_KEYS if tool_input.get(k))
        return Subject(tool, paths=paths, summary=summary_of(tool_input))

    # ---------------------------------------------------------------- shell

    def _shell_subject(self, command: str) -> Subject:
        parsed = parse(command)
        cwds: dict[int, str | None] = {0: "."}
        subjects: list[CommandSubject] = []
        for simple in parsed.commands:
            scope = simple.scope
            if scope not in cwds:
                cwds[scope] = cwds.get(parsed.parents.get(scope, 0), ".")
            cwd = cwds[scope]
            subject = self._command(simple, cwd)
            subjects.append(subject)
            if subject.program == "find":
                subjects.extend(self._find_exec(subject, simple, cwd))
            if subject.program in ("cd", "pushd"):
                cwds[scope] = self._cd(subject, cwd)
        paths = tuple(p for s in subjects for p in s.paths)
        # a statement's directory is not followed: "." is stricter than any `cd` inside the worktree (`..` from a
        # subdirectory reads as outside), and a `cd` out of it is asked about on its own
        inside = self._inside(".")
        shaping = tuple(name for name, value in parsed.assignments if changes_what_runs(name, value, inside))
        shaping += tuple(name for s in subjects if s.program in SETTERS for name in variables_set_by(s.program, s.args)
                         if changes_what_runs(name, UNKNOWN_VALUE, inside))
        return Subject("Bash", tuple(subjects), paths, parsed.error, command, parsed, shaping)

    def _inside(self, cwd: str | None) -> Callable[[str], bool]:
        def inside(path: str) -> bool:
            use = self.resolve(path, cwd, write=False)
            return use.inside and use.known
        return inside

    def _find_exec(self, find: CommandSubject, simple: SimpleCommand, cwd: str | None) -> list[CommandSubject]:
        """`find … -exec cmd {} ;` runs cmd: judge it as a command of its own."""
        inner: list[CommandSubject] = []
        args = list(find.args)
        for i, arg in enumerate(args):
            if arg in ("-exec", "-execdir", "-ok", "-okdir"):
                end = next((j for j in range(i + 1, len(args)) if args[j] in (";", "+", "\\;")), len(args))
                words = tuple("." if w == "{}" else w for w in args[i + 1:end])
                if words:
                    inner.append(self._command(SimpleCommand(words, " ".join(words), scope=simple.scope), cwd))
        return inner

    def _cd(self, subject: CommandSubject, cwd: str | None) -> str | None:
        target = next((a for a in subject.args if not a.startswith("-")), None)
        if target is None or target == "~":
            target = os.path.expanduser("~")
        if (subject.source.dynamic - {0}) or target == "-" or (cwd is None and not os.path.isabs(expand_home(target))):
            return None
        return self.resolve(target, cwd, write=False).resolved  # relative when inside, absolute when not

    def _command(self, simple: SimpleCommand, cwd: str | None) -> CommandSubject:
        head = simple.words[0] if simple.words else ""
        if "/" in head or head in UNWRAP_HEADS:
            return self._unwrapped(simple, cwd)
        # most parts: the first word is the program itself
        return self._subject(simple, cwd, head, simple.words[1:], 0, simple.env, (), ())

    def _unwrapped(self, simple: SimpleCommand, cwd: str | None) -> CommandSubject:
        """The subject of a part led by a wrapper (`timeout 60`, `env X=1`, `uv run`, `git -C d`) or a path."""
        found = unwrap(simple, cwd, self.resolve)
        return self._subject(simple, found.cwd, found.program, found.args, found.offset, found.env, found.wrapped,
                             found.extra)

    def _subject(self, simple: SimpleCommand, cwd: str | None, program: str, args: tuple[str, ...], offset: int,
                 env: tuple[tuple[str, str], ...], wrapped: tuple[str, ...], extra: tuple[PathUse, ...]
                 ) -> CommandSubject:
        """``program`` and ``args``: the words from ``offset`` on, once the wrappers are gone."""
        dynamic = simple.dynamic
        arg_dynamic = {i - offset - 1 for i in dynamic if i - offset - 1 >= 0} if dynamic else _NONE
        paths = self._paths(program, args, arg_dynamic, simple, cwd)
        if extra:
            paths = extra + paths
        text = " ".join((program, *args)).strip()
        hosts = tuple(m.group("host") or m.group("scp") for a in args if ":" in a and (m := _URL.match(a))) \
            if ":" in text else ()  # every URL holds a `:`
        shaping: tuple[str, ...] = ()
        given = env + settings_in_arguments(program, args)  # `make CC=…`, `cmake -DCMAKE_C_COMPILER=…`
        if given and any(shapes(n) for n, _ in given):  # most prefixes (`FOO=1`, `CI=true`) shape nothing
            inside = self._inside(cwd)
            shaping = tuple(n for n, v in given if changes_what_runs(n, v, inside, prefix=True))
        return CommandSubject(program, args, text, cwd, paths, simple.variables, hosts, env, simple,
                              (offset in dynamic), wrapped, shaping)

    def _paths(self, program: str, args: tuple[str, ...], dynamic: Set[int], simple: SimpleCommand,
               cwd: str | None) -> tuple[PathUse, ...]:
        uses: list[PathUse] = []
        text_only = program in _TEXT_ARGS
        writer = program in _WRITERS or (program == "sed" and any(a.startswith("-i") or a == "--in-place" for a in args))
        copier = program in ("cp", "rsync", "scp")  # writes its last positional argument
        last = max((i for i, a in enumerate(args) if not a.startswith("-") or a == "-"), default=-1) if copier else -1
        for i, arg in enumerate(args):
            if arg[:1] == "-" and arg != "-" and not (arg[1:2] == "-" and "=" in arg):
                continue  # a flag (no `--opt=value`): skipped below too, this is only the short way
            value = arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg
            value = value[1:] if value.startswith("@") and len(value) > 1 else value  # curl -d @file
            if program == "dd" and "=" in arg:
                key, value = arg.split("=", 1)
                if key in ("if", "of"):
                    uses.append(self.resolve(value, cwd, write=key == "of"))
                continue
            if (value.startswith("-") and value != "-") or (":" in value and _URL.match(value)) or not value:
                continue
            if i in dynamic:
                home = value.startswith(("$HOME", "${HOME}", "~"))
                variable = value.startswith("$") and not value.startswith(("$(", "$((", "$?", "$#", "$$", "$!"))
                if writer or home or (variable and not text_only):
                    uses.append(self.resolve(value, cwd, write=writer, known=home))
                continue
            if text_only and not value.startswith(("/", "~")):
                continue
            write = writer or (copier and i == last)
            uses.append(self.resolve(value, cwd, write=write))
        for redirect in simple.redirects:
            if redirect.target.startswith("&"):
                continue
            uses.append(self.resolve(redirect.target, cwd, write=redirect.writes))
        return tuple(uses)
