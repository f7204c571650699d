"""The shipped fake Anthropic Messages API (runs without the Claude Code CLI)."""

from __future__ import annotations

import json

import httpx

from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn


def sse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


class TestFakeAnthropic:
    def test_plays_turns_in_order_and_records_requests(self) -> None:
        """Each POST gets the next turn as SSE; the request bodies are recorded."""
        with FakeAnthropic([Turn.tool("Bash", {"command": "ls"}, text="Looking.")]) as api:
            body = {"model": "m", "stream": True, "tools": [{"name": "Bash"}], "messages": []}
            first = httpx.post(f"{api.url}/v1/messages?beta=true", json=body)
            second = httpx.post(f"{api.url}/v1/messages?beta=true", json=body)
        names = [name for name, _ in sse_events(first.text)]
        assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
        assert names.count("content_block_start") == 2
        deltas = [d for n, d in sse_events(first.text) if n == "content_block_delta"]
        assert json.loads(deltas[1]["delta"]["partial_json"]) == {"command": "ls"}  # type: ignore[index]
        assert sse_events(first.text)[-2][1]["delta"]["stop_reason"] == "tool_use"  # type: ignore[index]
        assert "Done." in second.text  # the default turn once the script is used up
        assert len(api.model_requests) == 2 and api.requests[0]["model"] == "m"

    def test_error_turn(self) -> None:
        """An error turn answers with the status and an Anthropic error body."""
        with FakeAnthropic([Turn.error(529, "overloaded_error", "Overloaded")]) as api:
            reply = httpx.post(f"{api.url}/v1/messages", json={})
        assert reply.status_code == 529 and reply.json()["error"]["type"] == "overloaded_error"

    def test_cli_env_stays_on_loopback(self) -> None:
        """The CLI environment points at 127.0.0.1 and turns off non-essential traffic."""
        with FakeAnthropic() as api:
            env = api.cli_env()
        assert env["ANTHROPIC_BASE_URL"].startswith("http://127.0.0.1:")
        assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1" and env["CLAUDE_CODE_MAX_RETRIES"] == "0"

    def test_rate_limited_turn_is_anthropics_429(self) -> None:
        """429 with a rate_limit_error body, a request id and the ratelimit headers; retry-after only if given."""
        with FakeAnthropic([Turn.rate_limited(), Turn.rate_limited(20, limit="input-tokens")]) as api:
            bare = httpx.post(f"{api.url}/v1/messages", json={})
            timed = httpx.post(f"{api.url}/v1/messages", json={})
        body = bare.json()
        assert bare.status_code == 429 and body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
        assert "rate limit" in body["error"]["message"] and body["request_id"] == bare.headers["request-id"]
        assert "retry-after" not in bare.headers and bare.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert timed.headers["retry-after"] == "20" and "anthropic-ratelimit-input-tokens-reset" in timed.headers
