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

#: Variables naming a program a build runs (`CC=gcc make`, `RUSTC_WRAPPER=sccache cargo build`): judged by the
#: program they name (``shaping``).
PROGRAM_VARIABLES = (r"CC|CXX|CPP|LD|AR|AS|NM|RANLIB|STRIP|OBJCOPY|OBJDUMP|FC|F77|F90|HOSTCC|HOSTCXX|MAKE|YACC|LEX|"
                     r"PKG_CONFIG|RUSTC|RUSTC_WRAPPER|RUSTC_WORKSPACE_WRAPPER|RUSTDOC|CARGO|"
                     r"CARGO_BUILD_(RUSTC|RUSTC_WRAPPER|RUSTC_WORKSPACE_WRAPPER|RUSTDOC)|CARGO_TARGET_\w+_(LINKER|RUNNER)|"
                     r"CMAKE_\w+_(COMPILER|LINKER)_LAUNCHER")
#: Variables holding options a compiler or a runtime obeys (`CFLAGS=-O2`, `MAVEN_OPTS=-Xmx2g`): judged by the
#: options (``shaping``).
OPTION_VARIABLES = (r"(C|CXX|CPP|LD|F|CGO_C|CGO_CXX|CGO_CPP|CGO_LD|CGO_F|RUST|RUSTDOC|CARGO_ENCODED_RUST|"
                    r"CARGO_BUILD_RUST)FLAGS|GOFLAGS|MAVEN_OPTS|GRADLE_OPTS|JAVA_OPTS|SBT_OPTS|ANT_OPTS|"
                    r"JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS")
#: Settings a build tool takes as options (``build_settings``), not from the environment: the program or file of
#: build code it runs (`cmake -DCMAKE_C_COMPILER=…`, `--toolchain f`, `cargo --config build.rustc-wrapper=…`),
#: the options a compiler or a forked JVM obeys (`-DCMAKE_C_FLAGS=…`, `mvn -DargLine=…`,
#: `gradle -Dorg.gradle.jvmargs=…`), and the class path maven loads extensions from.
PROGRAM_SETTINGS = (r"CMAKE_\w+_COMPILER(_LAUNCHER)?|CMAKE_\w+_LINKER_LAUNCHER|CMAKE_(LINKER|AR|RANLIB|MAKE_PROGRAM)|"
                    r"CMAKE_TOOLCHAIN_FILE|CMAKE_PROJECT_(\w+_)?INCLUDE(_BEFORE)?|CMAKE_PROJECT_TOP_LEVEL_INCLUDES|"
                    r"--toolchain|-C|--init-script|--config|"
                    r"build\.(rustc|rustc-wrapper|rustc-workspace-wrapper|rustdoc)|target\.\S+\.(linker|runner)")
OPTION_SETTINGS = r"CMAKE_\w+_FLAGS(_\w+)?|argLine|org\.gradle\.jvmargs|build\.(rustflags|rustdocflags)|target\.\S+\.rustflags"
PATH_SETTINGS = r"maven\.ext\.class\.path"
PROGRAM_VARIABLE = re.compile(f"^({PROGRAM_VARIABLES}|{PROGRAM_SETTINGS})$")
OPTION_VARIABLE = re.compile(f"^({OPTION_VARIABLES}|{OPTION_SETTINGS})$")
SETTING = re.compile(f"^({PROGRAM_SETTINGS}|{OPTION_SETTINGS}|{PATH_SETTINGS})$")

#: Variables that change what later commands run or how the shell reads them.
RUN_SHAPING = re.compile(r"^(PATH|CDPATH|HOME|SHELL|ENV|BASH_ENV|BASH_FUNC_\w+|PROMPT_COMMAND|PS[0-4]|IFS|SHELLOPTS|"
                         r"BASHOPTS|HISTFILE|LD_\w+|DYLD_\w+|GIT_\w+|PYTHON(PATH|STARTUP|HOME|USERBASE)|NODE_(OPTIONS|PATH)|"
                         r"PERL5(OPT|LIB)|RUBY(OPT|LIB)|(EDITOR|VISUAL|PAGER|GIT_PAGER|"
                         r"MANPAGER|SUDO_ASKPASS|SSH_ASKPASS)|" + PROGRAM_VARIABLES + "|" + OPTION_VARIABLES + r")$")
