"""cut_log / iter_lines: the failing step and the lines that matter, from a stream, in bounded memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

from coffee_maker.vcs.forge.cut_log import MAX_EXCERPT_CHARS, clean, cut_log, iter_lines

GITHUB_LOG = """\
2026-01-01T10:00:00.0000000Z ##[group]Run actions/checkout@v4
2026-01-01T10:00:01.0000000Z Syncing repository: o/r
2026-01-01T10:00:02.0000000Z ##[endgroup]
2026-01-01T10:00:03.0000000Z ##[group]Run pytest -q
2026-01-01T10:00:04.0000000Z ============================= test session starts ==============================
2026-01-01T10:00:05.0000000Z collected 12 items
2026-01-01T10:00:06.0000000Z tests/test_app.py ..F.........
2026-01-01T10:00:07.0000000Z ________________________________ test_total ________________________________
2026-01-01T10:00:08.0000000Z E   AssertionError: assert 41 == 42
2026-01-01T10:00:09.0000000Z src/app/cart.py:17: AssertionError
2026-01-01T10:00:10.0000000Z FAILED tests/test_app.py::test_total - AssertionError: assert 41 == 42
2026-01-01T10:00:11.0000000Z ========================= 1 failed, 11 passed in 0.31s =========================
2026-01-01T10:00:12.0000000Z ##[error]Process completed with exit code 1.
2026-01-01T10:00:13.0000000Z ##[group]Post job cleanup.
2026-01-01T10:00:14.0000000Z Cleaning up orphan processes
"""

GITLAB_TRACE = (
    "\x1b[0KRunning with gitlab-runner 17.0.0\n"
    "section_start:1700000000:prepare_script\r\x1b[0K\x1b[0K\x1b[36;1mPreparing environment\x1b[0;m\n"
    "Running on runner-abc\n"
    "section_end:1700000001:prepare_script\r\x1b[0K\n"
    "section_start:1700000002:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage\x1b[0;m\n"
    "$ python -m pytest\n"
    "Traceback (most recent call last):\n"
    "  File \"src/app/main.py\", line 3, in <module>\n"
    "ModuleNotFoundError: No module named 'yaml'\n"
    "section_end:1700000003:step_script\r\x1b[0K\n"
    "\x1b[31;1mERROR: Job failed: exit code 1\n\x1b[0;m\n"
)


class TestCutLog:
    def test_github_failing_step_and_errors(self) -> None:
        """The step with ##[error] is named; its assertion, the FAILED line and the exit code are in the excerpt,
        the checkout step and the post-job cleanup are not."""
        cut = cut_log(GITHUB_LOG.splitlines(), url="https://ci/job/1")
        assert cut.step == "Run pytest -q" and cut.url == "https://ci/job/1"
        assert "E   AssertionError: assert 41 == 42" in cut.excerpt
        assert "FAILED tests/test_app.py::test_total" in cut.excerpt
        assert "##[error]Process completed with exit code 1." in cut.excerpt
        assert "Syncing repository" not in cut.excerpt and "2026-01-01T" not in cut.excerpt
        assert cut.truncated  # the checkout step was left out

    def test_gitlab_sections_and_colours(self) -> None:
        """GitLab's section markers name the step; colour codes are gone; the traceback is kept."""
        cut = cut_log(GITLAB_TRACE.splitlines())
        assert cut.step == "step_script"
        assert "ModuleNotFoundError: No module named 'yaml'" in cut.excerpt and "\x1b" not in cut.excerpt
        assert "Traceback (most recent call last):" in cut.excerpt

    def test_no_failure_marker_keeps_the_tail(self) -> None:
        """A log without a failure marker gives its last lines, and a short log is not truncated."""
        cut = cut_log([f"line {i}" for i in range(10)], tail_lines=5)
        assert cut.excerpt.splitlines() == [f"line {i}" for i in range(5, 10)] and cut.truncated
        assert not cut_log(["one", "two"]).truncated

    def test_excerpt_is_capped(self) -> None:
        """Thousands of error lines still make an excerpt of at most max_chars, marked as cut."""
        cut = cut_log((f"ERROR: thing {i} broke " + "x" * 100 for i in range(5000)), max_chars=4000)
        assert len(cut.excerpt) <= 4000 and cut.truncated and cut.excerpt.startswith("…(cut)")

    def test_fifty_megabytes_stay_bounded_in_memory(self) -> None:
        """A 50 MB log read as a stream: the excerpt stays under the cap, and so does the memory used."""
        def chunks() -> Iterator[bytes]:
            noise = b"".join(b"2026-01-01T10:00:00.0000000Z building module %d of 999999 ... ok\n" % i
                             for i in range(1000))
            yield b"2026-01-01T10:00:00.0000000Z ##[group]Run make test\n"
            sent = 0
            while sent < 50 * 1024 * 1024:
                yield noise
                sent += len(noise)
            yield b"2026-01-01T10:00:00.0000000Z FAILED tests/test_big.py::test_it\n"
            yield b"2026-01-01T10:00:00.0000000Z ##[error]Process completed with exit code 2.\n"

        tracemalloc.start()
        try:
            cut = cut_log(iter_lines(chunks()))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert cut.step == "Run make test" and "FAILED tests/test_big.py::test_it" in cut.excerpt
        assert len(cut.excerpt) <= MAX_EXCERPT_CHARS and cut.truncated
        assert peak < 4 * 1024 * 1024  # the log is 50 MB; what is held is the buffers, a chunk and the excerpt


class TestIterLines:
    def test_lines_across_chunks(self) -> None:
        """Lines split over chunk boundaries come out whole; a last line without newline too."""
        assert list(iter_lines([b"ab", b"c\nde", b"f\n\ng"])) == ["abc", "def", "", "g"]

    def test_endless_line_is_cut(self) -> None:
        """A line without newline for megabytes is cut at the cap and the rest skipped to its newline."""
        lines = list(iter_lines([b"x" * 100_000, b"x" * 100_000 + b"\nnext\n"], max_line_chars=50))
        assert lines == ["x" * 50 + " …(line cut)", "next"]

    def test_invalid_utf8_is_replaced(self) -> None:
        assert list(iter_lines([b"caf\xe9\n"])) == ["caf\ufffd"]


def test_clean_strips_timestamps_colours_and_redraws() -> None:
    """Timestamps, ANSI codes and carriage-return progress redraws do not reach the agent."""
    assert clean("2026-01-01T10:00:00.1234567Z \x1b[31mred\x1b[0m") == "red"
    assert clean("10%\r50%\r100% done") == "100% done"
