"""Tracing overhead per observation: Langfuse (against the local OTLP recorder) vs the no-op tracer.

Each round runs one attempt with ``--per-attempt`` observations, cycling through a
step span, a decision and a generation, and times each call. The exporter runs in
its own threads; what the loop pays is the time to create, fill and end a span.

    .venv/bin/python bench/bench_tracing.py [--observations 3000] [--per-attempt 100] [--pace-ms 0]

Back-to-back (the default) keeps the export thread busy the whole run, so its Python
work (media scan, span cloning, protobuf encoding) competes for the GIL with the
caller: that is the worst case and shows in p99. ``--pace-ms 2`` spaces the
observations (still far denser than a real attempt, which has dozens per hour).
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.connection
import statistics
import time

from _percentiles import percentiles_ms  # noqa: E402 — a sibling module of these scripts

from coffee_maker.observe.tracing import AttemptTrace, Tracer
from coffee_maker.testing.otlp_recorder import OtlpRecorder
from coffee_maker.types import Decision, DecisionKind, DecisionSource

DECISION = Decision(DecisionKind.ALLOW, source=DecisionSource.person("slack", "U1"), latency_s=2.5)
USAGE = {"input_tokens": 1200, "output_tokens": 340, "cache_read_input_tokens": 9000}


def _observe(trace: AttemptTrace, i: int) -> None:
    kind = i % 3
    if kind == 0:
        with trace.span("safety_gate", input={"test_command": "pytest -q"}) as span:
            span.end(output={"passed": True, "summary": "all good"})
    elif kind == 1:
        trace.decision("Allow Bash: pytest -q", DECISION, ["slack", "terminal"], 300.0)
    else:
        now = time.time()
        trace.generation("agent_session", model="claude-sonnet-4-5", usage=USAGE, cost_usd=0.42,
                         input="implement the priority", output="done", start=now - 60, end=now)


def run(tracer: Tracer, observations: int, per_attempt: int, pace_s: float = 0.0) -> list[float]:
    samples: list[float] = []
    attempt = 0
    while len(samples) < observations:
        attempt += 1
        with tracer.attempt("PRIORITY 1", attempt=attempt, branch="roadmap/p1") as trace:
            trace.set_session(f"sess-{attempt}")
            for i in range(per_attempt):
                started = time.perf_counter()
                _observe(trace, i)
                samples.append(time.perf_counter() - started)
                if pace_s:
                    time.sleep(pace_s)
    return samples


def _serve(conn: multiprocessing.connection.Connection) -> None:
    """The recorder in its own process, as Langfuse would be: decoding must not share our GIL."""
    with OtlpRecorder("pk-lf-bench", "sk-lf-bench") as recorder:
        conn.send(recorder.env())
        conn.recv()
        conn.send((len(recorder.spans()), len(recorder.requests)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=3000)
    parser.add_argument("--per-attempt", type=int, default=100)
    parser.add_argument("--pace-ms", type=float, default=0.0,
                        help="pause between observations (not timed); 0 = back-to-back burst")
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(theirs,), daemon=True)
    server.start()
    env = ours.recv()
    results = {}
    for label, tracer in (("noop", Tracer(None)), ("langfuse", Tracer.from_config(None, env=env))):
        run(tracer, 300, args.per_attempt)  # warm-up
        results[label] = run(tracer, args.observations, args.per_attempt, args.pace_ms / 1000)
        sent = tracer.shutdown(wait_s=30)
        if label == "langfuse":
            ours.send("done")
            spans, requests = ours.recv()
            print(f"langfuse: all spans sent before shutdown returned: {sent}; recorder received "
                  f"{spans} spans in {requests} requests")
    server.join(10)
    for label, samples in results.items():
        print(f"{label:9s} per observation: median {statistics.median(samples) * 1e3:.3f} ms, "
              f"p99 {percentiles_ms(samples)['p99']:.3f} ms, max {max(samples) * 1e3:.3f} ms (n={len(samples)})")
    extra = statistics.median(results["langfuse"]) - statistics.median(results["noop"])
    print(f"overhead of Langfuse per observation (median difference): {extra * 1e3:.3f} ms (target ≤ 5 ms)")


if __name__ == "__main__":
    main()
