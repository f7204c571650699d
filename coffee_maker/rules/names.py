"""What a shell variable's name says about it: a credential, or a variable that changes what later commands run."""

from __future__ import annotations

import re

#: A variable whose value is probably a credential.
SECRET_NAME = re.compile(r"(?i)(^|_)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|PWD_?HASH|CREDENTIALS?|PAT|AUTH|"
                         r"PRIVATE|SESSION|COOKIE|DSN|WEBHOOK)(_|$)|API_?KEY|PASSWORD|SECRET|TOKEN")
#: Names that are never credentials, whatever SECRET_NAME says (`KEYMAP`, `PWD`…), and the shell's special parameters.
NOT_SECRET = frozenset({"PWD", "OLDPWD", "PATH", "HOME", "USER", "SHELL", "LANG", "TERM", "TMPDIR", "?", "$", "!",
                        "#", "@", "*", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "_", "-", "PIPESTATUS",
                        "KEYMAP", "KEYTIMEOUT", "HISTFILE"})

#: Variables that change what later commands run or how the shell reads them.
RUN_SHAPING = re.compile(r"^(PATH|CDPATH|HOME|SHELL|ENV|BASH_ENV|BASH_FUNC_\w+|PROMPT_COMMAND|PS[0-4]|IFS|SHELLOPTS|"
                         r"BASHOPTS|HISTFILE|LD_\w+|DYLD_\w+|GIT_\w+|PYTHON(PATH|STARTUP|HOME|USERBASE)|NODE_(OPTIONS|PATH)|"
                         r"PERL5(OPT|LIB)|RUBY(OPT|LIB)|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|(EDITOR|VISUAL|PAGER|GIT_PAGER|"
                         r"MANPAGER|SUDO_ASKPASS|SSH_ASKPASS))$")
