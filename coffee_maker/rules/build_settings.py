"""Settings a build tool takes on its own command line that change what its build runs.

`make CC=/tmp/x`, `cmake -DCMAKE_C_COMPILER=/tmp/x`, `mvn -DargLine=-javaagent:/tmp/a.jar`,
`gradle -Dorg.gradle.jvmargs=…`, `cargo --config build.rustc-wrapper="/tmp/x"` or `--config env.LD_PRELOAD=…`:
each is a variable set for what the build runs, as a prefix would be, and is judged as one
(``shaping.changes_what_runs``). A file of build code named on the command line (`cmake --toolchain f`,
`cmake -C f`, `gradle --init-script f`, `cargo --config f.toml`) is judged like a program: routine inside the
worktree, where the project's own build files already are, and asked about elsewhere.

Options the rules do not name (`-DCMAKE_BUILD_TYPE=Release`, `-Dmaven.test.skip`) are left alone: they change
what the project's own build does, which the agent may change anyway.
"""

from __future__ import annotations

import re
import shlex
import tomllib

from coffee_maker.rules.names import SETTING
from coffee_maker.rules.shaping import UNKNOWN_VALUE

_ARGUMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
#: Read only by an interactive shell, never by the shells a build's recipes run: `make deploy ENV=production`
#: names a deployment (and is judged as one), not a start-up file.
_INTERACTIVE_ONLY = frozenset({"ENV", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "HISTFILE"})

#: Build tools that take variables as arguments (`make CC=clang`, `./configure CC=…`): make puts them in its
#: recipes' environment.
_TAKES_VARIABLES = frozenset({"make", "gmake", "bmake", "configure"})
#: `-D NAME[:TYPE]=VALUE` (cmake), `-DNAME=VALUE` (the JVM's system properties, as mvn and gradle take them).
_DEFINE = re.compile(r"-D\s*([^=:\s]+)(?::[A-Za-z]+)?=(.*)", re.DOTALL)
#: Options naming a file of build code, with the name a setting is judged under.
_CODE_FILES = {"cmake": {"--toolchain": "--toolchain", "-C": "-C"},
               "gradle": {"--init-script": "--init-script", "-I": "--init-script"},
               "cargo": {}}
_PROGRAMS = {"cmake": "cmake", "mvn": "mvn", "mvnw": "mvn", "gradle": "gradle", "gradlew": "gradle", "cargo": "cargo"}


def settings_in_arguments(program: str, args: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The `(name, value)` settings among a build tool's arguments that the rules judge as variables."""
    base = program.rsplit("/", 1)[-1]
    if base in _TAKES_VARIABLES:
        return tuple((m[1], m[2]) for a in args if "=" in a and (m := _ARGUMENT.fullmatch(a))
                     and m[1] not in _INTERACTIVE_ONLY)
    tool = _PROGRAMS.get(base)
    if tool is None:
        return ()
    found: list[tuple[str, str]] = []
    files = _CODE_FILES.get(tool, {})
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg == "--":
            break
        if tool == "cargo":
            if arg == "--config":
                found.extend(_cargo_config(following))
            elif arg.startswith("--config="):
                found.extend(_cargo_config(arg.removeprefix("--config=")))
        elif arg.startswith("-D") and (m := _DEFINE.fullmatch(arg if arg != "-D" else "-D" + following)) \
                and SETTING.match(m[1]):  # a system property, not a variable: `-DPATH=…` sets no PATH
            found.append((m[1], m[2]))
        elif arg in files and following:
            found.append((files[arg], following))
        elif "=" in arg and arg.split("=", 1)[0] in files:
            found.append((files[arg.split("=", 1)[0]], arg.split("=", 1)[1]))
    return tuple(found)


def _cargo_config(given: str) -> list[tuple[str, str]]:
    """`KEY=VALUE` in TOML (`build.rustc-wrapper="sccache"`, `env.X="…"`), or the path of a config file."""
    if "=" not in given:
        return [("--config", given)] if given else []
    key, raw = (part.strip() for part in given.split("=", 1))
    try:
        value: object = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # cargo would refuse it; judged as the text it is
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = shlex.join(value)
    elif isinstance(value, str):
        text = value
    else:
        text = UNKNOWN_VALUE  # a table (`{ value = …, relative = true }`): not read further
    if key.startswith("env."):  # `[env]`: what cargo sets in build scripts' and rustc's environment
        return [(key.removeprefix("env.").strip("'\""), text)]
    return [(key, text)] if SETTING.match(key) else []
