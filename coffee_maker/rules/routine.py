"""The shipped routine rules: ordinary development work in any ecosystem, decided without a person.

They come after every rule with a risk class, so an allowed program still cannot read a
secret, write outside the worktree or run code piped into it. Also the judgment calls
(installing a new package, downloading, deleting recursively) and the question rules.
"""

from __future__ import annotations

from coffee_maker.rules.model import PermissionRule, QuestionRisk, QuestionRule
from coffee_maker.types import RiskClass as C

_FILE = "Read|Edit|Write|MultiEdit|NotebookEdit|Glob|Grep|LS"
_PY = r"python[0-9.]*\s+-m\s+"


def _r(name: str, tool: str, decision: str, reason: str | None = None, **match: object) -> PermissionRule:
    return PermissionRule.model_validate({"name": name, "tool": tool, "decision": decision, "reason": reason, **match})


def routine_permission_rules() -> list[PermissionRule]:
    return [
        _r("build-outputs", "Bash", "allow", check="build-output"),
        # `FOO=1` on its own runs nothing (a `$(…)` in the value is judged as a command of its own)
        _r("shell-assignment", "Bash", "allow", check="bare-assignment"),
        # ---- declared dependencies into the project's own environment
        _r("declared-deps", "Bash", "allow",
           command=r"^(pip[0-9.]*|" + _PY + r"pip|uv\s+pip)\s+install\s+(-q\s+|--quiet\s+|-U\s+|--upgrade\s+)*"
                   r"(-r\s+(?!\S*://)\S+|--requirement\s+(?!\S*://)\S+|-e\s+\S+|--editable\s+\S+|\.(\[[\w,-]+\])?|'\.\[[\w,-]+\]'|"
                   r"\"\.\[[\w,-]+\]\")(\s+-\S+|\s+-r\s+\S+|\s+-e\s+\S+)*\s*$"
                   r"|^(uv\s+sync|uv\s+lock|poetry\s+(install|lock|check|show)|pipenv\s+(sync|install\s*$)|"
                   r"pdm\s+(install|sync|lock)|npm\s+(ci|install\s*$|i\s*$|install\s+--(no-)?\S+\s*$)|"
                   r"(yarn|pnpm|bun)(\s+install)?(\s+--(frozen-lockfile|immutable|prefer-offline|offline))*\s*$|"
                   r"cargo\s+fetch|go\s+mod\s+(download|tidy|verify|graph|why)|bundle\s+(install|check)|"
                   r"composer\s+install|dotnet\s+restore|mvn\s+dependency:\S+|conda\s+env\s+update)\b"),
        _r("network-install", "Bash", "ask", "Installing a package the project does not declare, or downloading.",
           command=r"^(pip[0-9.]*|uv\s+pip|pipx|poetry|pdm|uv|npm|pnpm|yarn|bun|gem|cargo|go|apt(-get)?|brew|apk|dnf|yum|"
                   r"conda|mamba|composer|dotnet)\s+(install|add|i|get)\b(?!.*\s(-r|--requirement|-e|--editable)\s)"
                   r"|^(curl|wget|aria2c|git\s+clone|git\s+fetch|git\s+pull)\b|^" + _PY + r"pip\s+install\b"
                   r"|^python[0-9.]*\s+setup\.py\s+(install|develop)|^(pip[0-9.]*|uv\s+pip)\s+install\b.*://"),
        _r("rm-recursive", "Bash", "ask", "Deleting a directory tree.", command=r"^rm\s+(-\S*[rR]\S*|--recursive)"),
        _r("find-delete", "Bash", "ask", "find -delete removes files.", command=r"^find\b.*\s-(delete|ok|okdir)\b"),
        _r("web", "WebFetch|WebSearch", "ask", "Reading the web: a URL can carry data out, and a page can carry "
           "instructions in.", **{"class": C.EXFILTRATION, "severity": "normal"}),
        _r("repo-files", _FILE, "allow", inside_repo=True),
        # ---- tests, builds, linters in each ecosystem
        _r("tests", "Bash", "allow",
           command=r"^(" + _PY + r")?(pytest|py\.test|unittest|tox|nox|coverage|hypothesis|doctest)\b"
                   r"|^(npm|pnpm|yarn|bun)\s+(run\s+)?(test|t|lint|build|typecheck|type-check|check|format|fmt|"
                   r"compile|coverage|e2e|test:\S+|lint:\S+|build:\S+|dev|start|storybook|docs)\b"
                   r"|^(jest|vitest|mocha|ava|karma|tap|playwright\s+test|cypress\s+run|tsx|ts-node|vite\s+build|"
                   r"webpack|rollup|esbuild|turbo\s+run|nx\s+(test|build|lint|run))\b"
                   r"|^make\b|^(cmake|ctest|ninja|meson|scons|bazel\s+(build|test|query)|bazelisk\s+(build|test))\b"
                   r"|^go\s+(test|build|vet|fmt|run|list|env|version|doc|generate|clean|mod\s+(tidy|download|verify)|"
                   r"tool\s+(cover|pprof|vet))\b"
                   r"|^cargo\s+((\+\S+|--config(\s+|=)\S+|--locked|--offline|--frozen|-q|-v+)\s+)*(test|build|check|clippy|fmt|run|bench|doc|tree|metadata|nextest|clean|update\s+--dry-run)\b"
                   r"|^(mvn|mvnw|\./mvnw)\s+((-\S+\s+)*(test|verify|compile|package|install|clean|validate|"
                   r"test-compile|checkstyle:\S+|spotless:\S+|surefire:\S+|exec:java|dependency:tree)(\s|$))+"
                   r"|^(gradle|gradlew|\./gradlew)\s+((-\S+\s+)*(test|build|check|assemble|clean|lint|compile\w*|"
                   r"jar|run|spotlessCheck|spotlessApply|dependencies|tasks|:[\w:-]+)(\s|$))+"
                   r"|^(dotnet\s+(build|test|format|run)|swift\s+(build|test)|sbt\s+(test|compile)|mix\s+(test|compile|"
                   r"format)|rspec|rake\s+(test|spec)|phpunit|composer\s+(test|lint)|zig\s+(build|test)|"
                   r"stack\s+(build|test)|cabal\s+(build|test)|dune\s+(build|test)|deno\s+(test|lint|fmt|check))\b"
                   r"|^(gcc|g\+\+|cc|c\+\+|clang|clang\+\+|javac|java\s+-(cp|jar)|rustc|tsc)\b"
                   r"|^" + _PY + r"(build|compileall|py_compile|pip\s+(list|show|freeze|check)|venv|pydoc|"
                   r"json\.tool|http\.server\s+--help)\b|^pip[0-9.]*\s+(list|show|freeze|check)\b"
                   r"|^python[0-9.]*(\s+-\S+)*\s+(?!setup\.py)[\w./-]+\.py\b|^python[0-9.]*\s+(--version|-V)\s*$"
                   r"|^(node|deno|bun)\s+[\w./-]+\.(m?js|ts|cjs)\b|^(node|npm|go|cargo|rustc|java|gcc|clang|"
                   r"cmake|make|ruby|php|uv|poetry)\s+(--version|-v|version)\s*$|^(pre-commit|prek)\s+run\b"
                   r"|^(alembic\s+(check|history|current|heads)|django-admin\s+check|" + _PY + r"django\s+check|"
                   r"manage\.py\s+(check|test|makemigrations\s+--check))\b"),
        _r("linters", "Bash", "allow",
           command=r"^(" + _PY + r")?(ruff|mypy|flake8|black|isort|pylint|pyright|pyflakes|pycodestyle|pydocstyle|"
                   r"bandit|vulture|codespell|mdformat|yapf|autopep8|interrogate|pyupgrade|basedpyright|ty)\b"
                   r"|^(eslint|prettier|tsc|biome|oxlint|stylelint|standard|xo|golangci-lint|gofmt|goimports|"
                   r"staticcheck|govulncheck|revive|rustfmt|clang-format|clang-tidy|cppcheck|cpplint|iwyu|"
                   r"shellcheck|shfmt|hadolint|yamllint|markdownlint|actionlint|taplo|ktlint|detekt|checkstyle|"
                   r"rubocop|phpstan|psalm|swiftlint|swiftformat|buf\s+(lint|format)|sqlfluff\s+lint|typos)\b"),
        # ---- git on the agent's own branch
        _r("git-read", "Bash", "allow",
           command=r"^git\s+(status|diff|log|show|branch(\s+(-a|-r|-v|-vv|--list|--show-current|--contains\s+\S+|"
                   r"--merged|--no-merged))*\s*$|rev-parse|rev-list|ls-files|ls-tree|blame|grep|describe|shortlog|"
                   r"cat-file|name-rev|merge-base|show-ref|for-each-ref|count-objects|check-ignore|check-attr|"
                   r"whatchanged|range-diff|reflog(\s+show)?\s*$|remote(\s+(-v|show\s+\S+|get-url\s+\S+))?\s*$|"
                   r"tag(\s+(-l|--list)(\s+\S+)?)?\s*$|stash\s+(list|show)|config\s+(--get|--list|-l)|var|version|help)\b"),
        _r("git-local", "Bash", "allow",
           command=r"^git\s+(add|stash(\s+(push|save|pop|apply|-u|--include-untracked|-m\s+\S+))*|restore|mv|rm|"
                   r"apply|checkout\s+(-b|-B)\s+\S+|switch\s+(-c|-C|--create)\s+\S+|checkout\s+(\S+\s+)?--\s|"
                   r"clean\s+-n|clean\s+--dry-run|add\s+-N|diff-index|update-index\s+--refresh|format-patch|"
                   r"notes\s+(list|show)|bisect|sparse-checkout\s+list|lfs\s+(ls-files|status))\b"),
        # ---- reading and shaping text, moving around
        _r("read-only-shell", "Bash", "allow",
           command=r"^(ls|ll|la|pwd|cd|pushd|popd|cat|bat|head|tail|wc|grep|egrep|fgrep|rg|ag|ack|fd|fdfind|find|"
                   r"locate|echo|printf|true|false|:|which|type|whereis|command|hash|tree|sort|uniq|diff|cmp|comm|"
                   r"file|stat|du|df|basename|dirname|realpath|readlink|cut|tr|column|nl|od|hexdump|strings|jq|yq|"
                   r"xq|sed|awk|gawk|date|sleep|seq|test|\[|\[\[|uname|whoami|id|hostname|nproc|lscpu|free|uptime|"
                   r"ps|pgrep|pidof|tsort|join|paste|fold|fmt|expand|unexpand|rev|tac|base64|md5sum|sha1sum|"
                   r"sha256sum|sha512sum|cksum|b2sum|zcat|zgrep|xzcat|bzcat|less|more|tee|wait|jobs|exit|return|"
                   r"set|shopt|unset|export|declare|local|readonly|alias|ulimit|umask|time|trap|read|shift|"
                   r"getconf|locale|tput|stty|printf|xxd|iconv|dos2unix|unix2dos|numfmt|factor|bc|dc|expr|"
                   r"column|csvlook|mlr|xmllint|tidy|pandoc|cloc|tokei|scc|ldd|nm|objdump|readelf|size|lsof|"
                   r"env|printenv|true|git-lfs|mktemp|source|\.|yes)\b(?!.*\s-i\b)"
                   r"|^(sed|perl)\s+-i|^sed\s+--in-place"
                   r"|^(tar\s+(-?t\S*|--list|-?[cxz]\S*)|unzip\s+(-l|-t|-o|-d|-q)|zip|gzip|gunzip|xz|unxz|bzip2)\b"),
        _r("files-in-worktree", "Bash", "allow", command=r"^(mkdir|touch|cp|mv|ln|rmdir|truncate|chmod\s+[ugoa]*[+-]x|"
                                                         r"chmod\s+(0?[0-7]{3})\b(?<!777)|install\s+-d|rm\s+(-f\s+)?[^-])"),
        _r("bookkeeping", "TodoWrite|Task|ExitPlanMode|BashOutput|KillShell|NotebookRead", "allow"),
    ]


def question_risks() -> list[QuestionRisk]:
    """Objects that make any question the person's, whatever routine verb it also contains."""
    def q(name: str, risk: C, pattern: str, reason: str, severity: str | None = None) -> QuestionRisk:
        return QuestionRisk.model_validate({"name": name, "class": risk, "pattern": pattern, "reason": reason,
                                            "severity": severity})
    return [
        q("q-secret", C.SECRET, r"\bapi[\s_-]?keys?\b|\bcredential|\b(password|passwd|secret|token|private\s+key|"
          r"ssh\s+key|certificate|\.pem|keystore|keychain)s?\b|(^|[\s`'\"/])\.env\b|\b[A-Z0-9_]+_(KEY|TOKEN|SECRET)\b",
          "The question is about a secret or a credential.", "normal"),
        q("q-publish", C.PUBLISH, r"\b(publish|release|upload)\b.*\b(package|pypi|npm|crates?|registry|version|"
          r"gem|image|artifact|release)s?\b|\b(npm|cargo|poetry|uv|twine|gem)\s+(publish|upload|push)\b|\bpublish",
          "Publishing or releasing is the person's decision."),
        q("q-history", C.HISTORY_REMOTE, r"\b(push|merge|rebase|force[\s-]?push)\b.*\b(main|master|trunk|develop|"
          r"default|production|release|protected)\b|\bforce[\s-]?push|\b(rewrite|rewriting)\b.*\bhistory\b|"
          r"--force\b|\breset\s+--hard\b|\bmerge\s+(it|this|the\s+pr|the\s+pull)|\bpush\b",
          "Pushing, merging or rewriting history is the daemon's or the person's call, not the agent's."),
        q("q-production", C.PRODUCTION_CLOUD, r"\b(production|prod|live\s+(site|server|database|system)|deploy\w*|"
          r"customers?'?\s+data|staging)\b", "The question concerns production or a deployment."),
        q("q-destruction", C.DESTRUCTION, r"\b(delete|drop|wipe|truncate|purge|erase|destroy|remove)\b.*\b(data|"
          r"database|table|records?|backups?|rows|bucket|volume|branch(es)?|repo(sitory)?|history)\b|"
          r"\bdrop\s+(table|database)\b|\brm\s+-rf\b", "The question is about deleting data."),
        q("q-skip-checks", C.PERSISTENCE, r"--no-verify|\b(skip|disable|bypass|ignore|silence|suppress|xfail|"
          r"comment\s+out|remove|delete|mark)\b.{0,40}\b(tests?|hooks?|checks?|ci|lint(er|ing)?|type\s*checks?|"
          r"pre-commit|failing|as\s+skipped|coverage)\b|\b(tests?|hooks?|checks?)\b.{0,20}\b(skip|disable|bypass)",
          "Skipping or disabling tests, hooks or checks hides failures."),
        q("q-self-permission", C.PERSISTENCE, r"\.claude\b|\bpermissions?\b|\bsettings\.json\b|\bcoffee_maker\.toml\b|"
          r"\bworkflows?\b|\bci\s+(config|pipeline)|\bgit\s+hooks?\b|\bpostinstall\b|\bsudo\b",
          "The question touches the agent's own permissions or what runs later."),
        q("q-license-breaking", C.PERSISTENCE, r"\blicen[cs]e\b|\bbreaking\s+change|\bbackwards?[\s-]incompatible|"
          r"\bpublic\s+api\b.*\b(remove|change|rename)", "Licence and breaking changes are the person's decision."),
        q("q-outside", C.OUTSIDE_WORKTREE, r"\b(outside|other)\s+(the\s+)?(repo|repository|worktree|project)|"
          r"\bhome\s+directory|~/|/etc/|\bsystem[\s-]wide\b|\bglobal(ly)?\s+install",
          "The question reaches outside the worktree."),
    ]


DAEMON_COMMITS = ("No need: the daemon commits and pushes your work itself after its checks pass. "
                  "Leave the changes uncommitted, finish the task and end your turn.")


def default_question_rules() -> list[QuestionRule]:
    def q(name: str, pattern: str, answer: str, **when: object) -> QuestionRule:
        return QuestionRule(name=name, pattern=pattern, answer=answer, when=dict(when))
    return [
        q("continue-if-tests-pass", r"\b(continue|proceed|go ahead|keep going)\b", "yes", tests_passed=True),
        q("commit-if-valid", r"\bcommit\b", "yes", changes_valid=True),
        q("commit-is-the-daemons", r"\bcommit(ting)?\b", DAEMON_COMMITS),
        q("run-tests", r"\b(run|execute|rerun|re-run)\b.*\b(tests?|specs?|linters?|lint|type[\s-]?check(er)?|"
          r"build)\b", "yes"),
        q("add-tests", r"\b(add|write|update|extend|create|improve)\b.*\b(unit\s+|integration\s+|regression\s+)?"
          r"(tests?|test\s+cases?|specs?|coverage)\b", "yes"),
        q("update-docs", r"\b(update|add|write|improve|fix|document|extend)\b.*\b(readme|docs?|documentation|"
          r"changelog|docstrings?|comments?|examples?|usage|guide)\b", "yes"),
        q("next-deliverable", r"\b(continue|proceed|move on|go on|start)\b.*\b(next|remaining|following)\b.*"
          r"\b(deliverables?|items?|tasks?|steps?|parts?|todo)\b", "yes"),
        q("fix-checks", r"\b(fix|address|resolve)\b.*\b(lint|type|mypy|ruff|eslint|clippy|compiler|build|test)\s*"
          r"(errors?|warnings?|failures?|issues?)\b", "yes"),
        q("create-pr-if-ready", r"\b(create|open)\b.*\b(pr|pull request)\b", "yes", branch_ready=True),
    ]
