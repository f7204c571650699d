"""The error family the CLI turns into one clear sentence.

Library code raises these with a message a person can act on; the CLI's single
error boundary (``coffee_maker.cli.main``) prints the message and exits with
``exit_code`` — never a traceback for a known failure.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code of coffee-maker, in one place (README "Exit codes" lists the same).

    3–8 are also what `coffee-maker agent run` returns for a session's outcome, so a code
    means one thing whichever command returned it.
    """

    OK = 0  #: the work it set out to do succeeded, or there was nothing to do
    FAILED = 1  #: a known error stopped the command, or `run --once`'s attempt failed (a retry is due later)
    USAGE = 2  #: bad arguments, configuration or roadmap: fix the input and run again
    USAGE_LIMIT = 3  #: `agent run`: the agent's usage limit was reached
    RATE_LIMIT = 4  #: `agent run`: the agent's API rate limit was hit
    OVERLOADED = 5  #: `agent run`: the agent's API was overloaded
    AUTH_FAILED = 6  #: the coding agent cannot authenticate: log in or set the API key
    TIMEOUT = 7  #: `agent run`: the session timed out
    LIMIT = 8  #: `agent run`: the session passed its turn or cost limit
    BLOCKED = 9  #: `run --once`: the priority is blocked (fix the cause, then `coffee-maker retry ID`)
    BUDGET = 10  #: `run --once`: a hard cost cap is reached (raise it, or wait for tomorrow's daily budget)
    INTERRUPTED = 130  #: Ctrl-C (SIGINT); a SIGTERM stop (`coffee-maker stop`, systemd) is a clean 0


class CoffeeMakerError(Exception):
    """A known failure: its message is shown to the user as is."""

    exit_code: int = ExitCode.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CoffeeMakerError):
    """Bad usage or bad input (a missing file, an unreadable roadmap, a wrong argument)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The configuration file or environment holds an unknown key or a wrong value."""


class RoadmapError(UsageError):
    """The roadmap cannot be read or parsed into priorities."""


class RoadmapConflictError(CoffeeMakerError):
    """The roadmap changed on disk under an edit, and the edit cannot be re-applied safely."""


class ProcessError(CoffeeMakerError):
    """A subprocess failed; the message carries the command, exit code and output tails."""

    def __init__(
        self, message: str, *, cmd: tuple[str, ...] = (), returncode: int | None = None,
        stdout: str = "", stderr: str = "",
    ) -> None:
        super().__init__(message)
        self.cmd = cmd
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class GitError(CoffeeMakerError):
    """A git operation failed or the repository is not in a state the daemon can work in."""


class ForgeError(CoffeeMakerError):
    """The forge (GitHub, GitLab, …) refused or failed a request."""


class AgentError(CoffeeMakerError):
    """The coding agent could not be started or broke its protocol."""


class AgentAuthError(AgentError):
    """The coding agent cannot authenticate: nothing will work until a person fixes its login or key.

    Its own exit code (the same as `coffee-maker agent run` uses for auth_failed), so a supervisor
    or a script can tell "fix the credentials" from an ordinary failure.
    """

    exit_code = 6


class LockHeldError(CoffeeMakerError):
    """Another daemon already runs for this repository."""
