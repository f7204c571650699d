"""What a command reads from the environment by itself, not through a `$X` the shell expands.

All of it (`env`, `env -u X`, `printenv`, `declare -p`, `set`, `ps e`, `/proc/*/environ`, jq's `env`/`$ENV`,
`make -p`, which prints every variable make got from its environment), or one variable by name
(`printenv GITHUB_TOKEN`, `jq -n 'env.GITHUB_TOKEN'`, yq's `strenv(GITHUB_TOKEN)`). Two checks read this:
``env_dump`` (the whole environment) and ``secret_variable`` (a credential-looking variable, by `$X` or by name).
"""

from __future__ import annotations

import re
from pathlib import Path

from coffee_maker.rules.names import NOT_SECRET, SECRET_NAME
from coffee_maker.rules.subject import CommandSubject

#: JSON and YAML filters with the environment in their language.
_FILTERS = frozenset({"jq", "gojq", "jaq", "yq"})
_MAKES = frozenset({"make", "gmake"})
#: Every program ``env_dump`` looks at by name (``checks.inert`` must know them).
ENV_PROGRAMS = frozenset({"env", "printenv", "export", "declare", "typeset", "readonly", "local", "set", "compgen",
                          "ps", "xargs", *_FILTERS, *_MAKES})
#: jq's `env` and `$ENV` (all of it, or `.NAME` / `["NAME"]` of it), yq's `env(NAME)` / `strenv(NAME)` and
#: `envsubst` (every `${NAME}` in a string). Not `.env` (a key), `"env"` (a string) or `{env: …}` (a key).
_FILTER_ENV = re.compile(r'(?<![\w$."-])(?:\$ENV|env)\b(?!\s*[("\w:])'
                         r'(?:\s*(?:\.\s*(?P<dot>\w+)|\[\s*"(?P<key>\w+)"\s*\]))?'
                         r'|\b(?:str)?env\(\s*"?(?P<call>\w+)"?\s*\)|\benvsubst\b')
#: `make -p`, `make -pn`, `make --print-data-base`: the data base printed holds the environment.
_MAKE_PRINT = re.compile(r"-[A-Za-z]*p[A-Za-z]*|--print-data-base")
#: `env`'s options whose value is the next word (`env -u NAME` with no command still prints the rest).
_ENV_VALUES = frozenset({"-u", "--unset"})


def _filter_reads(args: tuple[str, ...]) -> tuple[bool, set[str]]:
    """Whether a filter's words read the whole environment, and the variables they read by name."""
    whole, names = False, set()
    for arg in args:
        if "env" not in arg and "ENV" not in arg:
            continue
        for m in _FILTER_ENV.finditer(arg):
            name = m["dot"] or m["key"] or m["call"]
            if name:
                names.add(name)
            else:
                whole = True
    return whole, names


def env_dump(cmd: CommandSubject, root: Path | None = None) -> bool:
    """The whole environment, in any form."""
    program, args = cmd.program, cmd.args
    if program not in ENV_PROGRAMS:
        for p in cmd.paths:
            if "/environ" in p.resolved:
                return True
        return False
    positional = [a for a in args if not a.startswith("-")]
    if program == "env":  # no command after the options and assignments: it prints what it has
        i = 0
        while i < len(args) and ("=" in args[i] or args[i].startswith("-")):
            i += 2 if args[i] in _ENV_VALUES else 1
        return i >= len(args)
    if program == "printenv":
        return not positional
    if program in ("export", "declare", "typeset", "readonly", "local"):
        return not positional or any(a in ("-p", "-x", "-px", "-xp") for a in args) and not any("=" in a for a in positional)
    if program == "set":
        return not args or args == ("-o", "posix") or args == ("--",)
    if program == "compgen":
        return any(a in ("-v", "-e", "-A") for a in args)
    if program == "ps":
        return any(re.fullmatch(r"-?[a-zA-Z]*[eE][a-zA-Z]*", a) and not a.startswith("-e") and "e" in a.lower()
                   or a == "-E" for a in args)
    if program in _FILTERS:
        return _filter_reads(args)[0]
    if program in _MAKES:
        return any(_MAKE_PRINT.fullmatch(a) for a in args) or any("/environ" in p.resolved for p in cmd.paths)
    if program in ("xargs",) and not positional:
        return False
    return any("/environ" in p.resolved for p in cmd.paths)


def secret_variable(cmd: CommandSubject, root: Path | None = None) -> bool:
    """A variable whose name looks like a credential, read by the shell (`$T`, `$((T))`) or by name."""
    source = cmd.source
    # indirect expansion: the variable's name is itself a value (a word holds `${!` only if the text has a `!`)
    if "!" in source.text and any("${!" in w for w in source.words):
        return True
    program = cmd.program
    if not cmd.variables and program != "printenv" and program not in _FILTERS:
        return False
    names = set(cmd.variables)
    if program == "printenv":
        names.update(a for a in cmd.args if not a.startswith("-"))
    elif program in _FILTERS:
        names |= _filter_reads(cmd.args)[1]
    return any(n not in NOT_SECRET and SECRET_NAME.search(n) for n in names)
