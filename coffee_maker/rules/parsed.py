"""What parsing a shell command line yields: its simple commands, their redirections, what it sets and defines.

Plain records, built by ``shell.parse`` and read by the subject (``subject.py``) and the checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field


# Not frozen (read-only by convention): built per redirection, like SimpleCommand — see there why.
@dataclass(slots=True)
class Redirect:
    """``>`` / ``>>`` / ``<`` / ``<<<`` … and its target (a file, or the here-string's text)."""

    op: str
    target: str
    fd: str | None = None

    @property
    def writes(self) -> bool:
        return ">" in self.op and not self.op.startswith(">&") and self.target not in ("&1", "&2")


# Not frozen, only by convention read-only: a 4 KB command builds ~200 of these, and a frozen dataclass
# costs ~5× as much to build (each field set through object.__setattr__: 0.9 µs against 0.16 µs).
@dataclass(slots=True)
class SimpleCommand:
    """One command the shell would run: ``FOO=1 timeout 60 pytest -q > out.txt``."""

    words: tuple[str, ...]
    text: str
    env: tuple[tuple[str, str], ...] = ()
    redirects: tuple[Redirect, ...] = ()
    dynamic: frozenset[int] = frozenset()  # indexes of words built from an expansion or substitution
    variables: frozenset[str] = frozenset()  # variables this command reads ($X, ${X}, "$X")
    piped_stdin: bool = False  # a later stage of a pipeline: its stdin is the previous stage's output
    stdin_text: str | None = None  # a here-string's or here-document's body
    scope: int = 0  # commands in the same scope share `cd`; a subshell or pipeline stage opens a new one
    nested: bool = False  # found inside a `bash -c` string or a here-string fed to a shell

    @property
    def program(self) -> str:
        return self.words[0] if self.words else ""

    def is_dynamic(self, index: int) -> bool:
        return index in self.dynamic


@dataclass
class ParsedCommand:
    """A command line's simple commands in execution order, or why it could not be parsed."""

    source: str
    commands: list[SimpleCommand] = field(default_factory=list)
    error: str | None = None
    #: `X=1`, `export X=1`, `for X in …` statements (those of `bash -c` strings too): each holds for the commands
    #: after it. A nameref's value is recorded as the expansion it stands for (`declare -n r=T` → `$T`).
    assignments: list[tuple[str, str]] = field(default_factory=list)
    assignment_parts: int = 0  # of ``commands``, those run by a `$(…)` in such a statement's value
    parents: dict[int, int] = field(default_factory=dict)  # scope → the scope it was opened in (for `cd`)
    functions: list[str] = field(default_factory=list)  # shell functions it defines (they can shadow commands)
    #: variables read outside any simple command: `[[ $T == ghp_* ]]`, `case $T in`, `for x in $T`
    loose_variables: set[str] = field(default_factory=set)
