"""The terminal channel through a real pseudo-terminal: panel, prompt, re-prompt after an invalid answer."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import textwrap
from pathlib import Path

from coffee_maker.notify.terminal import TerminalChannel

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from coffee_maker.notify.escalator import Escalator
    from coffee_maker.notify.inbox import Inbox
    from coffee_maker.notify.terminal import TerminalChannel
    assert TerminalChannel.available()
    inbox = Inbox(Path(sys.argv[1]))
    result = Escalator(inbox, [TerminalChannel(inbox)], timeout_s=60, invalid_retries=2).ask(
        "Allow Bash: npm install left-pad?", kind="permission", options=("yes", "no"), safe_default="no",
        priority="PRIORITY 3")
    print(f"RESULT={result.answer}/{result.who}", flush=True)
""")


PROGRESS_CHILD = textwrap.dedent("""
    import sys, threading, time
    from pathlib import Path
    from coffee_maker.daemon.progress import Progress
    from coffee_maker.notify.escalator import Escalator
    from coffee_maker.notify.inbox import Inbox
    from coffee_maker.notify.terminal import TerminalChannel, pause_status_line_while_asking
    inbox, go = Inbox(Path(sys.argv[1])), Path(sys.argv[2])
    progress = Progress(sys.stderr)  # the daemon's status line, on the same terminal
    channel = TerminalChannel(inbox)
    pause_status_line_while_asking([channel], progress)
    progress.start("PRIORITY 3")

    def attempt_goes_on():  # the agent's events keep updating the line while the person reads the prompt
        deadline = time.monotonic() + 90
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        for turn in range(1, 6):
            progress.update(phase="agent", turns=turn)
        print("UPDATED", flush=True)

    threading.Thread(target=attempt_goes_on, daemon=True).start()
    result = Escalator(inbox, [channel], timeout_s=60).ask(
        "Allow Bash: npm install left-pad?", kind="permission", options=("yes", "no"), safe_default="no",
        priority="PRIORITY 3")
    progress.update(turns=9)
    print(f"RESULT={result.answer}", flush=True)
""")


STOPPING_CHILD = textwrap.dedent("""
    import sys, threading, time
    from pathlib import Path
    from coffee_maker.notify.escalator import Escalator
    from coffee_maker.notify.inbox import Inbox
    from coffee_maker.notify.terminal import TerminalChannel
    inbox, go = Inbox(Path(sys.argv[1])), Path(sys.argv[2])
    stop = threading.Event()

    def sigterm_later():  # the daemon's stop request, once the prompt is on screen
        deadline = time.monotonic() + 90
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()

    threading.Thread(target=sigterm_later, daemon=True).start()
    result = Escalator(inbox, [TerminalChannel(inbox)], timeout_s=60, stop=stop).ask(
        "Allow Bash: npm install left-pad?", kind="permission", options=("yes", "no"), safe_default="no")
    print(f"RESULT={result.who}", flush=True)
""")


def _read_until(fd: int, marker: bytes, seen: bytearray) -> bytes:
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], 90)  # a deadline for a loaded machine, not a speed claim
        assert ready, f"timed out waiting for {marker!r}; got {bytes(seen)!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen.extend(chunk)
    return bytes(seen)


class TestTerminalChannel:
    def test_prompt_invalid_then_valid(self, tmp_path: Path) -> None:
        """The panel shows the question; 'maybe' is re-prompted; 'y' answers yes, by the terminal."""
        pid, fd = pty.fork()
        if pid == 0:  # the child: a daemon on a TTY
            os.execv(sys.executable, [sys.executable, "-c", CHILD, str(tmp_path / "inbox.db")])
        seen = bytearray()
        try:
            _read_until(fd, b"answer [", seen)
            assert b"npm install left-pad" in seen and b"coffee-maker needs you" in seen
            os.write(fd, b"maybe\n")
            _read_until(fd, b"not one of", seen)
            os.write(fd, b"y\n")
            out = _read_until(fd, b"RESULT=yes/terminal", seen)
            assert b"answered: yes" in out
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        assert os.waitstatus_to_exitcode(status) == 0

    def test_not_available_without_a_tty(self, tmp_path: Path) -> None:
        """A daemon under systemd (stdin not a TTY) gets no terminal channel."""
        with (tmp_path / "in").open("w+") as not_a_tty:
            assert not TerminalChannel.available(not_a_tty)

    def test_the_status_line_never_draws_over_the_prompt(self, tmp_path: Path) -> None:
        """While the prompt waits, progress updates draw nothing; after the answer the status line is back."""
        go = tmp_path / "go"
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.executable, [sys.executable, "-c", PROGRESS_CHILD, str(tmp_path / "inbox.db"), str(go)])
        seen = bytearray()
        try:
            _read_until(fd, b"> ", seen)
            prompt_at = seen.index(b"answer [")
            go.touch()
            _read_until(fd, b"UPDATED", seen)
            while_asking = bytes(seen[prompt_at:])
            assert b"\x1b[2K" not in while_asking and "☕ PRIORITY 3".encode() not in while_asking, while_asking
            os.write(fd, b"yes\n")
            out = bytes(_read_until(fd, b"RESULT=yes", seen))
            after = out[out.index(b"answered: yes"):]
            assert "☕ PRIORITY 3 · agent".encode() in after and b"9 turns" in after
        except BaseException:
            os.kill(pid, signal.SIGKILL)  # the child still waits for an answer: do not hang on it
            raise
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        assert os.waitstatus_to_exitcode(status) == 0

    def test_a_stopping_daemon_ends_the_prompt(self, tmp_path: Path) -> None:
        """The daemon stops while the prompt waits: the terminal says the question will be asked again."""
        go = tmp_path / "go"
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.executable, [sys.executable, "-c", STOPPING_CHILD, str(tmp_path / "inbox.db"), str(go)])
        seen = bytearray()
        try:
            _read_until(fd, b"> ", seen)
            go.touch()
            out = _read_until(fd, b"RESULT=stopped", seen)
            assert b"the daemon is stopping; this question will be asked again when the daemon resumes" in out
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            raise
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        assert os.waitstatus_to_exitcode(status) == 0
