"""Cut a CI job's log down to what explains the failure, reading it as a stream.

A job log can be hundreds of megabytes; the agent needs a few kilobytes: which step
failed, its last lines, and the lines around the errors ("Traceback", "FAILED",
"error:", an exit code). ``cut_log`` keeps only bounded buffers while it reads: the
current step's last lines, and the last few error windows. Memory is O(excerpt), not
O(log). Both log dialects are understood:

- GitHub Actions: ``2024-05-01T10:00:00.1234567Z ##[group]Run pytest`` starts a step,
  ``##[error]…`` marks an error, ``Process completed with exit code 1.`` ends a failed step;
- GitLab job traces: ``section_start:<epoch>:<name>`` starts a section (with ANSI colour
  codes around), ``ERROR: Job failed: exit code 1`` ends a failed job.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator

from coffee_maker.types import LogExcerpt

MAX_EXCERPT_CHARS = 12_000
TAIL_LINES = 60  # of the failing step
CONTEXT_LINES = 4  # before and after a line that matters
MAX_WINDOWS = 8  # error windows kept (the last ones win: the summary is at the end)
MAX_LINE_CHARS = 2_000  # a longer line (minified output, a progress bar) is cut

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ")
_GITHUB_STEP = re.compile(r"^##\[group\](.+)$")
_GITLAB_STEP = re.compile(r"section_start:\d+:([\w.-]+)")
_FAILED_STEP = re.compile(r"^##\[error\]|Process completed with exit code [1-9]|^ERROR: Job failed")
_MATTERS = re.compile(r"##\[error\]|Traceback \(most recent call last\)|\bFAILED\b|\bERROR\b|\b[Ee]rror:|"
                      r"\bAssertionError\b|exit (?:code|status) [1-9]|\bfatal:|\bpanic:|^E {3}")


def iter_lines(chunks: Iterable[bytes], *, max_line_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """Decode a byte stream into lines, never holding more than one capped line (a log without
    newlines cannot grow a line without bound)."""
    pending = bytearray()
    dropping = False  # the current line passed the cap: skip to its newline
    limit = max_line_chars * 4  # UTF-8 bytes per character, at most
    for chunk in chunks:
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not dropping:
                pending += piece[: max(0, limit - len(pending))]
                if len(pending) >= limit:
                    yield _decode(pending)[:max_line_chars] + " …(line cut)"
                    pending.clear()
                    dropping = True
            if end < 0:
                break
            if not dropping:
                yield _decode(pending)
            pending.clear()
            dropping = False
            start = end + 1
    if pending and not dropping:
        yield _decode(pending)


def _decode(raw: bytes | bytearray) -> str:
    return bytes(raw).decode("utf-8", "replace").rstrip("\r")


def clean(line: str) -> str:
    """A log line without colour codes, GitHub's timestamp prefix and GitLab's carriage-return redraws."""
    line = _ANSI.sub("", line)
    line = line.rsplit("\r", 1)[-1] if "\r" in line else line
    return _TIMESTAMP.sub("", line)


def cut_log(lines: Iterable[str], *, url: str = "", max_chars: int = MAX_EXCERPT_CHARS, tail_lines: int = TAIL_LINES,
            context: int = CONTEXT_LINES, max_windows: int = MAX_WINDOWS) -> LogExcerpt:
    """The failing step's name, the error windows and that step's last lines, at most ``max_chars`` long.

    The failing step is the first one with a failure marker (``##[error]``, a non-zero exit code,
    GitLab's ``ERROR: Job failed``); without one, the log's last lines stand in for it.
    """
    step: str | None = None
    step_tail: deque[Line] = deque(maxlen=tail_lines)
    before: deque[Line] = deque(maxlen=context)
    windows: deque[list[Line]] = deque(maxlen=max_windows)
    open_window: list[Line] | None = None
    after_left = 0
    failing_step: str | None = None
    failing_tail: list[Line] | None = None
    failing_after = 0
    total = 0
    for raw in lines:
        text = clean(raw[:MAX_LINE_CHARS])
        started = _GITHUB_STEP.match(text) or _GITLAB_STEP.search(raw)
        if started:
            step = started.group(1).strip()
            step_tail.clear()
            failing_after = 0  # the lines after a failure belong to its step only
        if ("section_end:" in raw and not text.strip()) or text.startswith("##[endgroup]"):
            continue
        line = (total, text)
        total += 1
        step_tail.append(line)
        if failing_tail is not None and failing_after > 0:  # a few lines after the failure (the exit code, a hint)
            failing_tail.append(line)
            failing_after -= 1
        if failing_tail is None and _FAILED_STEP.search(text):
            failing_step, failing_tail, failing_after = step, list(step_tail), context
        if _MATTERS.search(text):
            if open_window is None:
                open_window = list(before)
                windows.append(open_window)
            open_window.append(line)
            after_left = context
        elif open_window is not None:
            open_window.append(line)
            after_left -= 1
            if after_left <= 0:
                open_window = None
        if open_window is not None and len(open_window) > 4 * tail_lines:  # a wall of errors: keep its start
            open_window = None
        before.append(line)
    tail = failing_tail if failing_tail is not None else list(step_tail)
    if failing_tail is None:
        failing_step = step
    return _assemble(failing_step, list(windows), tail, total, url=url, max_chars=max_chars)


Line = tuple[int, str]  # (position in the log, text): positions tell what is shown twice and what was left out


def _assemble(step: str | None, windows: list[list[Line]], tail: list[Line], total: int, *, url: str,
              max_chars: int) -> LogExcerpt:
    """Error windows before the tail (their lines not already in it), then the tail; cut from the front."""
    in_tail = {i for i, _ in tail}
    parts: list[str] = []
    shown = set(in_tail)
    for window in windows:
        extra = [(i, t) for i, t in window if i not in in_tail and i < min(in_tail, default=total)]
        if extra:
            parts += [t for _, t in extra] + ["…"]
            shown.update(i for i, _ in extra)
    parts += [t for _, t in tail]
    text = "\n".join(parts).strip("\n")
    truncated = len(shown) < total
    if len(text) > max_chars:
        text = "…(cut)\n" + text[len(text) - max_chars + 8:]
        truncated = True
    return LogExcerpt(step=step, excerpt=text, url=url, truncated=truncated)
