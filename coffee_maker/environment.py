"""The agent's environment: built from an allow-list, never inherited from the daemon.

Why: the daemon holds credentials the agent must never see (the forge token, Slack
tokens, the Langfuse secret, whatever else the person exported), and everything the
agent CLI has in its environment also reaches every command its tools run — one
``env`` in a Bash call puts it in the model's context and the CLI's transcript.
So the child gets only what it needs (docs/tech_decisions/agent-environment.md):

* the basics every program expects — PATH, HOME, user, shell, temp dirs, locale,
  terminal, proxy and CA settings, toolchain homes, the git identity;
* the agent CLI's own configuration (``CLAUDE_CODE_*``, ``ANTHROPIC_BASE_URL`` …);
* the agent CLI's own credentials, and only those (``ANTHROPIC_API_KEY`` under
  ``[agent] auth = "api_key"``; a generic CLI's ``pass_env``);
* what the person names on purpose: ``[agent] pass_env`` (names or ``*`` patterns
  copied from the daemon's environment) and ``[agent] env`` (values).

A name that looks like a credential (``*_TOKEN``, ``*_KEY``, ``*SECRET*``, ``*PASSWORD*`` …)
is withheld even when an allow-list pattern matches it; only an exact name the backend
or the person listed passes it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from coffee_maker.proc import NESTING_VARIABLES

#: What any program run by the agent may rely on. Patterns use ``fnmatch`` syntax, case-sensitive.
BASICS: tuple[str, ...] = (
    # the process and its user
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "HOSTNAME", "TMPDIR", "TMP", "TEMP",
    "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
    # locale and terminal
    "LANG", "LANGUAGE", "LC_*", "TZ", "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "COLUMNS", "LINES",
    # network: proxies and certificate authorities
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO", "PIP_CERT", "NIX_SSL_CERT_FILE",
    # interpreters' behaviour (not PIP_INDEX_URL and the like: an index URL can carry a password)
    "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONIOENCODING", "PYTHONUTF8", "NODE_ENV",
    # toolchains the project's own commands need (homes and caches, no index URLs: those can carry credentials)
    "JAVA_HOME", "GOPATH", "GOROOT", "GOCACHE", "GOMODCACHE", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN",
    "NVM_DIR", "NVM_BIN", "PYENV_ROOT", "VIRTUAL_ENV", "CONDA_PREFIX", "PNPM_HOME", "BUN_INSTALL", "DENO_DIR",
    # the git identity (the agent does not push; the daemon does)
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_CONFIG_NOSYSTEM",
)

#: Claude Code's own settings (documented environment variables; none of them a credential).
CLAUDE_OWN: tuple[str, ...] = (
    "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_*_MODEL",
    "CLAUDE_CODE_*", "CLAUDE_CONFIG_DIR", "DISABLE_*", "BASH_DEFAULT_TIMEOUT_MS", "BASH_MAX_OUTPUT_LENGTH",
    "BASH_MAX_TIMEOUT_MS", "MAX_THINKING_TOKENS", "MAX_MCP_OUTPUT_TOKENS", "MCP_TIMEOUT", "MCP_TOOL_TIMEOUT",
    "USE_BUILTIN_RIPGREP", "IS_SANDBOX",
)

#: Claude Code's credentials, by ``[agent] auth``: only these reach the CLI.
CLAUDE_CREDENTIALS: Mapping[str, tuple[str, ...]] = {
    "api_key": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
    "subscription": ("CLAUDE_CODE_OAUTH_TOKEN",),
}

_CREDENTIAL_NAME = re.compile(
    r"TOKEN(?!S)|SECRET|PASSW(?:OR)?D|CREDENTIAL|API_?KEY|PRIVATE|COOKIE|"
    r"(?:^|_)(?:KEY|KEYS|PASS|PWD|AUTH|PAT|DSN|SESSION)(?:_|$)", re.IGNORECASE)


def looks_like_credential(name: str) -> bool:
    """``GITHUB_TOKEN``, ``AWS_SECRET_ACCESS_KEY``, ``DB_PASSWORD``, ``SENTRY_DSN`` … (``PWD`` itself is not)."""
    return name not in ("PWD", "OLDPWD") and bool(_CREDENTIAL_NAME.search(name))


@dataclass(frozen=True)
class AgentEnvironment:
    """The environment an agent process gets, and the names of the daemon's it did not get."""

    env: dict[str, str]
    withheld: tuple[str, ...]


def build_environment(*, own: Iterable[str] = (), credentials: Iterable[str] = (), pass_env: Iterable[str] = (),
                      explicit: Mapping[str, str] | None = None,
                      source: Mapping[str, str] | None = None) -> AgentEnvironment:
    """The child's environment from ``source`` (default: the daemon's) and the lists above.

    ``own`` are the agent CLI's setting patterns, ``credentials`` the exact names of its
    credentials, ``pass_env`` the person's names or patterns, ``explicit`` values set as given.
    """
    source = os.environ if source is None else source
    exact = {*credentials, *(p for p in pass_env if not _is_pattern(p))}
    patterns = (*BASICS, *own, *(p for p in pass_env if _is_pattern(p)))
    env: dict[str, str] = {}
    withheld: list[str] = []
    for name, value in source.items():
        if name in NESTING_VARIABLES:
            continue
        if name in exact or (not looks_like_credential(name) and any(fnmatchcase(name, p) for p in patterns)):
            env[name] = value
        else:
            withheld.append(name)
    env.update(explicit or {})
    return AgentEnvironment(env, tuple(sorted(withheld)))


def describe_withheld(withheld: Iterable[str], *, shown: int = 6) -> str:
    """``"GITHUB_TOKEN, SLACK_BOT_TOKEN and 12 more"`` — credential-looking names first."""
    names = sorted(withheld, key=lambda n: (not looks_like_credential(n), n))
    if not names:
        return "nothing"
    head = ", ".join(names[:shown])
    return head + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _is_pattern(name: str) -> bool:
    return any(c in name for c in "*?[")


def git_stays_in(cwd: Path | str, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a process working in one of the daemon's worktrees: git there may not climb above it.

    The worktrees live inside the person's checkout: a worktree that lost its ``.git`` would
    otherwise make the agent's `git add`/`git stash`, or a test command's git, act on the
    person's own checkout. The daemon's own git in a worktree gets the same (``vcs/confine.confined``).
    """
    return {**env, "GIT_CEILING_DIRECTORIES": str(Path(cwd).resolve().parent)}

