"""A streaming agent child process: lines in, lines out, and an end that leaves no orphan.

Why a separate piece: both the Claude Code backend and the generic CLI backend need
the same things — start through :func:`coffee_maker.proc.spawn` (own process group,
nesting variables dropped), read stdout/stderr on threads so the session loop can
wait on one queue with a timeout, keep a tail of stderr for error messages, and stop
with SIGTERM → SIGKILL of the whole group.

Every stdout line, decision and wake-up arrives on ``inbox`` as a tuple
``(kind, payload)``: ``("line", bytes)``, ``("eof", None)``, or whatever the session
posts itself (``("decision", …)``, ``("wake", None)``). ``SimpleQueue.put`` is
reentrant, so :meth:`wake` is safe from a signal handler.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import IO, Any

import structlog

from coffee_maker import proc
from coffee_maker.environment import git_stays_in
from coffee_maker.errors import AgentError, ProcessError

log = structlog.get_logger(__name__)

Item = tuple[str, Any]


class AgentProcess:
    """One running agent CLI with threaded readers feeding ``inbox``."""

    def __init__(self, argv: Sequence[str], *, cwd: Path | str, env: Mapping[str, str],
                 what: str = "the agent CLI", stdin_data: bytes | None = None) -> None:
        self.argv = list(argv)
        self.what = what
        self.inbox: SimpleQueue[Item] = SimpleQueue()
        self._stderr: deque[str] = deque(maxlen=200)
        self._write_lock = threading.Lock()
        self.stdin_open = True
        try:
            self.popen = proc.spawn(self.argv, cwd=cwd, env=git_stays_in(cwd, env))
        except ProcessError as exc:
            raise AgentError(
                f"Cannot start {what}: {exc.message} Set its path in the [agent] configuration "
                f"(or install it: `make claude-cli` for Claude Code).") from exc
        self.pgid = self.popen.pid
        self._threads = [
            threading.Thread(target=self._read_stdout, name="agent-stdout", daemon=True),
            threading.Thread(target=self._read_stderr, name="agent-stderr", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if stdin_data is not None:
            self.write(stdin_data)
            self.close_stdin()

    # ------------------------------------------------------------------ readers
    def _read_stdout(self) -> None:
        stream = self.popen.stdout
        assert stream is not None
        try:
            for raw in iter(stream.readline, b""):
                self.inbox.put(("line", raw))
        except (OSError, ValueError):  # closed under us during a stop
            pass
        self.inbox.put(("eof", None))

    def _read_stderr(self) -> None:
        stream: IO[bytes] | None = self.popen.stderr
        assert stream is not None
        try:
            for raw in iter(stream.readline, b""):
                self._stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))
        except (OSError, ValueError):
            pass

    def stderr_tail(self, lines: int = 20) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    # ------------------------------------------------------------------ writing
    def write(self, data: bytes) -> bool:
        """Write to the child's stdin; False when it is closed or gone."""
        with self._write_lock:
            if not self.stdin_open or self.popen.stdin is None:
                return False
            try:
                self.popen.stdin.write(data)
                self.popen.stdin.flush()
                return True
            except (BrokenPipeError, OSError, ValueError):
                log.debug("agent stdin closed", what=self.what)
                self.stdin_open = False
                return False

    def send_json(self, obj: Mapping[str, Any]) -> bool:
        return self.write((json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode())

    def close_stdin(self) -> None:
        with self._write_lock:
            if self.stdin_open and self.popen.stdin is not None:
                try:
                    self.popen.stdin.close()
                except OSError:
                    pass
            self.stdin_open = False

    # ------------------------------------------------------------------ ending
    def wake(self) -> None:
        self.inbox.put(("wake", None))

    def wait(self, timeout_s: float) -> int | None:
        try:
            return self.popen.wait(timeout=timeout_s)
        except Exception:  # noqa: BLE001 — TimeoutExpired; the caller then kills
            return None

    def kill_group(self, grace_s: float = 3.0) -> None:
        """SIGTERM the whole process group, then SIGKILL; also reaps the leader."""
        self.close_stdin()
        proc.stop_group(self.popen, grace_s=grace_s)
        for thread in self._threads:
            thread.join(timeout=1.0)

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()
