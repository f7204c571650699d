"""Whether setting a variable changes what a command runs or loads: `LD_PRELOAD=/tmp/x.so`, `PATH=/tmp/x:$PATH`.

One judgement for both ways a variable is set: as a prefix (`LD_PRELOAD=/tmp/x.so pytest`, `env X=… cmd`:
it holds for that command) and as a statement (`PATH=/tmp/x:$PATH; pytest`, `export …`: it holds for every
command after it). The name decides first (``names.RUN_SHAPING``); then the value, so ordinary work stays
allowed: a search path whose entries all lie inside the worktree (`PYTHONPATH=src`, `PATH=.venv/bin:$PATH`)
only points at the agent's own code, which it may run anyway, and `GIT_TRACE=1` or `GIT_PAGER=cat` load nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from coffee_maker.rules.names import RUN_SHAPING

#: Search paths: every `:`-separated entry is a directory code is loaded from.
_SEARCH_PATHS = frozenset({"PATH", "PYTHONPATH", "NODE_PATH", "PERL5LIB", "RUBYLIB", "LD_LIBRARY_PATH",
                           "DYLD_LIBRARY_PATH"})
#: Switches that only make a program say more (a number or a boolean; a path would be a file they write).
_SWITCHES = re.compile(r"^GIT_(TRACE\w*|CURL_VERBOSE|TERMINAL_PROMPT|OPTIONAL_LOCKS|FLUSH|MERGE_AUTOEDIT|"
                       r"ADVICE|PROGRESS_DELAY|LFS_SKIP_SMUDGE|CONFIG_NOSYSTEM)$")
_SWITCH_VALUE = re.compile(r"(?i)^(|[0-9]+|true|false|yes|no|on|off)$")
#: Who git says made a commit: text, not code.
_IDENTITY = re.compile(r"^GIT_(AUTHOR|COMMITTER)_(NAME|EMAIL|DATE)$")
_PAGERS = frozenset({"GIT_PAGER", "PAGER", "MANPAGER"})
#: Node options that only tune the runtime (`NODE_OPTIONS=--max-old-space-size=4096 npm run build`);
#: any other (`--require`, `--import`, `--loader`, `--inspect`…) loads or exposes code.
_NODE_TUNING = frozenset({
    "--max-old-space-size", "--max-semi-space-size", "--stack-size", "--enable-source-maps", "--no-warnings",
    "--no-deprecation", "--trace-warnings", "--trace-deprecation", "--trace-uncaught", "--throw-deprecation",
    "--pending-deprecation", "--unhandled-rejections", "--experimental-vm-modules", "--experimental-json-modules",
    "--experimental-specifier-resolution", "--es-module-specifier-resolution", "--openssl-legacy-provider",
    "--use-openssl-ca", "--dns-result-order", "--max-http-header-size", "--expose-gc", "--preserve-symlinks",
    "--no-experimental-fetch", "--experimental-global-webcrypto", "--conditions", "--title"})
#: Variables that matter to later commands but not as a prefix: `IFS= read -r line` splits only that read.
_STATEMENT_ONLY = frozenset({"IFS"})


@functools.lru_cache(maxsize=512)
def shapes(name: str) -> bool:
    """Names repeat (`FOO=1` on every part of a 4 KB command): match each once."""
    return RUN_SHAPING.match(name) is not None


def changes_what_runs(name: str, value: str, inside: Callable[[str], bool], *, prefix: bool = False) -> bool:
    """Whether ``name=value`` changes what a command run under it loads or runs (``prefix``: only that command).

    ``inside(path)`` says whether a literal path lies inside the worktree (known, not through a symlink out).
    """
    if not shapes(name) or (prefix and name in _STATEMENT_ONLY):
        return False
    if name == "NODE_OPTIONS":
        return not all(option.split("=", 1)[0] in _NODE_TUNING for option in value.split())
    if _IDENTITY.match(name) or (_SWITCHES.match(name) and _SWITCH_VALUE.match(value)):
        return False
    if name in _PAGERS:
        return value not in ("", "cat")
    if name in _SEARCH_PATHS:
        if not value:  # `PYTHONPATH= pytest`: the search path emptied, nothing added
            return False
        return not all(_harmless_entry(name, entry, inside) for entry in value.split(":"))
    return True


def _harmless_entry(name: str, entry: str, inside: Callable[[str], bool]) -> bool:
    """`$PATH` (the variable's own old value), or a literal directory inside the worktree."""
    if entry in (f"${name}", f"${{{name}}}"):
        return True
    for pwd in ("$PWD", "${PWD}"):  # the directory it runs in (a `$(pwd)` runs a command: not read)
        if entry == pwd or entry.startswith(pwd + "/"):
            entry = "." + entry[len(pwd):]
    if not entry or "$" in entry or "`" in entry or entry.startswith("~") or "*" in entry:
        return False  # an empty entry is the current directory, wherever a later `cd` goes; the rest is unknown
    return inside(entry)


#: Builtins that set variables from what they read: `read X`, `printf -v X`, `mapfile X`, `getopts o X`.
SETTERS = frozenset({"read", "printf", "mapfile", "readarray", "getopts"})
#: Their options that take a value (the value of `read -a` is the name set).
_SETTER_VALUES = {"read": frozenset({"-d", "-i", "-n", "-N", "-p", "-t", "-u"}),
                  "mapfile": frozenset({"-d", "-n", "-O", "-s", "-u", "-C", "-c"})}
#: What such a variable holds: nothing the rules can know.
UNKNOWN_VALUE = "$(…)"


def variables_set_by(program: str, args: tuple[str, ...]) -> list[str]:
    """The variables a builtin sets (`read -r A B` → A, B), whose values come from its input."""
    if program not in SETTERS:
        return []
    if program == "printf":
        return [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-v"]
    if program == "getopts":
        return list(args[1:2])
    takes = _SETTER_VALUES["mapfile" if program == "readarray" else program] if program != "getopts" else frozenset()
    names, i = [], 0
    while i < len(args):
        arg = args[i]
        if arg == "-a" and i + 1 < len(args):
            names.append(args[i + 1])
            i += 2
        elif arg in takes:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            names.append(arg)
            i += 1
    return names or (["REPLY"] if program == "read" else ["MAPFILE"])
