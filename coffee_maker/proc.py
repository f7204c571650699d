"""The only place that starts processes.

``run`` is for short commands (git helpers, test commands): it captures output,
applies a timeout and kills the whole process group on expiry. ``spawn`` is for
long-running streaming children (agent CLIs): a new session/process group, so
``stop_group`` can end the child and everything it started — no orphans.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coffee_maker.errors import ProcessError

#: Environment variables that make a CLI believe it runs inside another tool's session
#: (Claude Code nesting, systemd notification). Children never inherit them.
NESTING_VARIABLES = (
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SSE_PORT",
    "CLAUDE_AGENT_SDK_VERSION",
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
)


@dataclass(frozen=True)
class Completed:
    cmd: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM me when the daemon dies, even by SIGKILL (Linux only).

    Children run in their own session so the daemon can stop their whole group; that
    also means nothing else ends them if the daemon is killed outright.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def tail(text: str, lines: int = 20) -> str:
    """The last ``lines`` lines of ``text`` (for error messages)."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def child_env(
    extra: Mapping[str, str] | None = None, *, drop: Sequence[str] = NESTING_VARIABLES
) -> dict[str, str]:
    """The daemon's environment minus nesting variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if extra:
        env.update(extra)
    return env


def run(
    cmd: Sequence[str] | str,
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = False,
    shell: bool = False,
    input: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Completed:
    """Run a command to completion; on timeout the whole process group is killed.

    ``should_stop`` is polled every 100 ms: when it turns true (a daemon shutting down)
    the command's process group is stopped as on a timeout.

    With ``check=True`` a non-zero exit raises ProcessError naming the command,
    the exit code and the tails of both streams.
    """
    argv: tuple[str, ...] = (cmd,) if isinstance(cmd, str) else tuple(cmd)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd if shell else list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else child_env(),
            shell=shell,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except FileNotFoundError as exc:
        raise ProcessError(f"Command not found: {argv[0]!r}. Is it installed and on PATH?", cmd=argv) from exc
    except PermissionError as exc:
        raise ProcessError(f"Command {argv[0]!r} is not executable.", cmd=argv) from exc
    timed_out = False
    deadline = None if timeout is None else start + timeout
    pending_input = input
    while True:
        step = 0.1 if should_stop is not None else None
        if deadline is not None:
            remaining = max(0.0, deadline - time.monotonic())
            step = remaining if step is None else min(step, remaining)
        try:
            out, err = proc.communicate(input=pending_input, timeout=step)
            break
        except subprocess.TimeoutExpired:
            pending_input = None  # communicate() already sent it
            expired = deadline is not None and time.monotonic() >= deadline
            if expired or (should_stop is not None and should_stop()):
                timed_out = True
                stop_group(proc, grace_s=2.0)
                out, err = proc.communicate()
                break
    result = Completed(argv, proc.returncode, out or "", err or "", time.monotonic() - start, timed_out)
    if check and not result.ok:
        what = f"timed out after {timeout:.0f}s" if timed_out else f"exited with code {proc.returncode}"
        raise ProcessError(
            f"`{' '.join(argv)}` {what}.\nstdout:\n{tail(result.stdout)}\nstderr:\n{tail(result.stderr)}",
            cmd=argv, returncode=proc.returncode, stdout=result.stdout, stderr=result.stderr,
        )
    return result


def spawn(
    cmd: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a streaming child in its own session with binary stdin/stdout/stderr pipes."""
    argv = tuple(cmd)
    try:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            bufsize=0,
        )
    except FileNotFoundError as exc:
        raise ProcessError(f"Command not found: {argv[0]!r}. Is it installed and on PATH?", cmd=argv) from exc
    except PermissionError as exc:
        raise ProcessError(f"Command {argv[0]!r} is not executable.", cmd=argv) from exc


def stop_group(proc: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 5.0) -> None:
    """SIGTERM the child's whole process group, then SIGKILL after ``grace_s``.

    Also kills the group when the leader already exited (its children may live on).
    """
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = proc.pid  # leader gone; the group id is still its pid
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(pgid):
                return
            time.sleep(0.02)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
