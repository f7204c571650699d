"""Whether setting a variable changes what a command runs or loads: `LD_PRELOAD=/tmp/x.so`, `PATH=/tmp/x:$PATH`.

One judgement for both ways a variable is set: as a prefix (`LD_PRELOAD=/tmp/x.so pytest`, `env X=… cmd`:
it holds for that command) and as a statement (`PATH=/tmp/x:$PATH; pytest`, `export …`: it holds for every
command after it). The name decides first (``names.RUN_SHAPING``); then the value, so ordinary work stays
allowed: a search path whose entries all lie inside the worktree (`PYTHONPATH=src`, `PATH=.venv/bin:$PATH`)
only points at the agent's own code, which it may run anyway, and `GIT_TRACE=1` or `GIT_PAGER=cat` load nothing.
A variable naming a program a build runs (`CC`, `RUSTC_WRAPPER`…) is routine when the program is found on PATH by
a plain name (`CC=gcc`, `RUSTC_WRAPPER=sccache`) or lies inside the worktree or a system directory; one holding a
compiler's or a runtime's options (`CFLAGS`, `RUSTFLAGS`, `MAVEN_OPTS`, `JAVA_TOOL_OPTIONS`…) is routine when no
option loads code or runs a command (`-javaagent:`, `-fplugin`, `-XX:OnError`…) and none names a path elsewhere.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Callable

from coffee_maker.rules.names import OPTION_VARIABLE, PROGRAM_VARIABLE, RUN_SHAPING, SETTING
from coffee_maker.rules.nested import INTERPRETERS, SHELLS, WRAPPER_WORDS
from coffee_maker.rules.wrappers import SYSTEM_BIN

#: Search paths: every `:`-separated entry is a directory code is loaded from.
_SEARCH_PATHS = frozenset({"PATH", "PYTHONPATH", "NODE_PATH", "PERL5LIB", "RUBYLIB", "LD_LIBRARY_PATH",
                           "DYLD_LIBRARY_PATH", "maven.ext.class.path"})
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
#: Options that load code, run a command or open a debugger's port, wherever what they name lies.
_LOADS_CODE = re.compile(r"(^|[,=])(-javaagent:|-agentlib:|-agentpath:|-Xrun|-Xdebug\b|-XX:On(Error|OutOfMemoryError)|"
                         r"-Dcom\.sun\.management\.jmxremote|-Djava\.rmi\.server\.codebase|-Dmaven\.ext\.class\.path|"
                         r"-fplugin|-fpass-plugin|-wrapper\b|--?plugin\b|-load\b|-toolexec\b|-exec\b)")
#: Where an option's value starts inside a word: after `=`, `:` or `,` (`-Dx=/p`, `-Wl,-rpath,/p`).
_PIECES = re.compile(r"[=:,]")
#: A short option glued to its value (`-I/usr/include`, `-B/tmp/x`, `-L../lib`).
_GLUED = re.compile(r"^-+[A-Za-z]*")
#: Directories the system's own files live in: headers, libraries and programs there are not the agent's to plant.
_SYSTEM = (*SYSTEM_BIN, "/usr/", "/lib/", "/lib64/", "/opt/")
#: Programs that run what their arguments say (`CC="sh -c '…'"`): never a routine program for a build to run.
_RUNS_ARGUMENTS = frozenset({*SHELLS, *WRAPPER_WORDS, "eval", "source", "."})
#: Variables that matter to later commands but not as a prefix: `IFS= read -r line` splits only that read.
_STATEMENT_ONLY = frozenset({"IFS"})


@functools.lru_cache(maxsize=512)
def shapes(name: str) -> bool:
    """Names repeat (`FOO=1` on every part of a 4 KB command): match each once."""
    return RUN_SHAPING.match(name) is not None or SETTING.match(name) is not None


def changes_what_runs(name: str, value: str, inside: Callable[[str], bool], *, prefix: bool = False) -> bool:
    """Whether ``name=value`` changes what a command run under it loads or runs (``prefix``: only that command).

    ``inside(path)`` says whether a literal path lies inside the worktree (known, not through a symlink out).
    """
    if not shapes(name) or (prefix and name in _STATEMENT_ONLY):
        return False
    if name == "NODE_OPTIONS":
        return not all(option.split("=", 1)[0] in _NODE_TUNING for option in value.split())
    if PROGRAM_VARIABLE.match(name):
        return not _routine_program(name, value, inside)
    if OPTION_VARIABLE.match(name):
        words = _words(value)
        return words is None or not _routine_options(name, words, inside)
    if _IDENTITY.match(name) or (_SWITCHES.match(name) and _SWITCH_VALUE.match(value)):
        return False
    if name in _PAGERS:
        return value not in ("", "cat")
    if name in _SEARCH_PATHS:
        if not value:  # `PYTHONPATH= pytest`: the search path emptied, nothing added
            return False
        return not all(_harmless_entry(name, entry, inside) for entry in value.split(":"))
    return True


def _words(value: str) -> list[str] | None:
    """The words a build tool splits the value into (None when unbalanced quotes leave it unreadable)."""
    try:
        return shlex.split(value)
    except ValueError:
        return None


def _routine_program(name: str, value: str, inside: Callable[[str], bool]) -> bool:
    """`gcc`, `ccache gcc`, `/usr/bin/clang`, `tools/cc`: a program found on PATH or inside; its options load nothing."""
    words = _words(value)
    if words is None:
        return False
    if not words:  # `CC= make`: unset, the build's default
        return True
    head = words[0]
    if "$" in head or "`" in head:
        return False
    if "/" in head and not (head.startswith(SYSTEM_BIN) or (not head.startswith("~") and inside(head))):
        return False
    base = head.rsplit("/", 1)[-1]
    if base in _RUNS_ARGUMENTS or INTERPRETERS.match(base):  # `/usr/bin/sh -c '…'` hides what it runs
        return False
    return _routine_options(name, words[1:], inside)


def _routine_options(name: str, words: list[str], inside: Callable[[str], bool]) -> bool:
    """No option loads code or runs a command, and every path named lies inside the worktree or the system's dirs."""
    own = (f"${name}", f"${{{name}}}")  # `CFLAGS="$CFLAGS -O2"`: the old value, already judged
    for word in words:
        if _LOADS_CODE.search(word):
            return False
        for piece in _PIECES.split(word):
            if piece in own or (piece.startswith("//") and piece[2:3] != "/"):  # `http://host/…`: a URL's host
                continue
            if "$" in piece or "`" in piece:
                return False
            piece = _GLUED.sub("", piece, count=1).removeprefix("@")  # `@file`: the JVM (and gcc) read more options from the file
            if (piece.startswith(("/", "~")) or ".." in piece.split("/")) and not (
                    piece.startswith(_SYSTEM) or (piece[:1] != "~" and inside(piece))):
                return False
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
