"""Strings a command hands to a shell to run as code: `bash -c '…'`, `watch '…'`, `trap '…' EXIT`, `alias x='…'`.

Each such string is a command line of its own; the walker parses it again (``shell.parse``) so its commands are
judged like any other. A string built from an expansion cannot be read: `bash -c "$X"` and `trap "$X" EXIT`
are left to the `opaque-code` check.
"""

from __future__ import annotations

import re

from coffee_maker.rules.parsed import SimpleCommand

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish"})
#: Programs that run code handed to them as an argument or on stdin (`python -c`, `node -e`), besides the shells.
INTERPRETERS = re.compile(r"^(python[0-9.]*|pypy[0-9.]*|node|nodejs|deno|bun|perl|ruby|php|lua|luajit|Rscript|"
                          r"osascript|pwsh|powershell|tclsh|julia|groovy|jshell|irb)$")
WRAPPER_WORDS = frozenset({"env", "timeout", "nice", "nohup", "time", "exec", "command", "builtin", "stdbuf",
                           "sudo", "doas", "xargs", "ionice", "flock", "setsid", "chronic", "unbuffer"})
#: Builtins whose argument is code run later: a trap's action, an alias's replacement text.
DEFERRED = frozenset({"trap", "alias"})
#: A command whose first word is none of these, holds no `/` and starts with none of the characters below is
#: neither a shell, nor `watch`, `trap` or `alias`, nor behind a wrapper (see ``after_wrappers``): no string
#: of it is run again.
NESTED_HEADS = frozenset({*WRAPPER_WORDS, *SHELLS, *DEFERRED, "watch"})
NESTED_FIRST_CHARS = "-0123456789"  # ("" is in it too: an empty first word takes the long way)


def after_wrappers(words: tuple[str, ...]) -> int:
    """Index of the first word that is the real program behind `env X=1 timeout 5 nice …`."""
    for i, word in enumerate(words):
        bare = word.rsplit("/", 1)[-1]
        if bare in WRAPPER_WORDS or word.startswith("-") or ("=" in word and i > 0) or word[:1].isdigit():
            continue
        return i
    return len(words)


def scripts_of(command: SimpleCommand) -> list[str]:
    """The literal strings ``command`` runs as shell code (none when it runs none, or only unreadable ones)."""
    first = after_wrappers(command.words)
    words = command.words[first:]
    if not words:
        return []
    head = words[0].rsplit("/", 1)[-1]
    if head == "watch":
        rest = [i for i in range(1, len(words)) if not words[i].startswith("-") and words[i - 1] not in ("-n", "-d")]
        if rest and not any(command.is_dynamic(first + i) for i in rest):
            return [" ".join(words[i] for i in rest)]
        return []
    if head == "trap" and first == 0:
        args = words[2:] if words[1:2] == ("--",) else words[1:]
        at = len(words) - len(args)
        if not args or args[0] in ("-", "-l", "-p") or command.is_dynamic(at):
            return []
        return [args[0]]
    if head == "alias" and first == 0:
        return [w.split("=", 1)[1] for i, w in enumerate(words) if i and "=" in w and not command.is_dynamic(i)]
    if head not in SHELLS:
        return []
    if "-c" in words[1:]:
        at = words.index("-c", 1)
        if at + 1 < len(words) and not command.is_dynamic(first + at + 1):
            return [words[at + 1]]
        return []
    if len(words) == 1 and command.stdin_text is not None:
        return [command.stdin_text]
    return []
