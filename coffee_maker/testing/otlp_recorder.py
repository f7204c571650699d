"""A local stand-in for Langfuse's OTLP endpoint that decodes and keeps the spans it receives.

Point ``LANGFUSE_BASE_URL`` at ``recorder.base_url``; the SDK then posts gzip'd
OTLP protobuf to ``/api/public/otel/v1/traces`` with Basic auth, and tests assert
on ``recorder.spans()``. ``hold()`` makes the recorder keep requests waiting (to
show that the traced code does not wait for the exporter).
"""

from __future__ import annotations

import base64
import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

TRACES_PATH = "/api/public/otel/v1/traces"


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


@dataclass(frozen=True)
class RecordedSpan:
    """One received span, flattened for assertions."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    scope: str
    scope_attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — stdlib signature
        return None

    def do_POST(self) -> None:  # noqa: N802 — stdlib name
        recorder = self.server.recorder
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        recorder._arrived(self.path)
        recorder._release.wait()
        if self.path != TRACES_PATH:
            self._reply(404, b"not found")
            return
        if self.headers.get("Authorization") != recorder.expected_auth:
            recorder.rejected += 1
            self._reply(401, b"unauthorized")
            return
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        recorder._add(request, dict(self.headers))
        self._reply(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    recorder: OtlpRecorder


class OtlpRecorder:
    """``with OtlpRecorder(public, secret) as rec:`` — an OTLP/HTTP trace sink on 127.0.0.1."""

    def __init__(self, public_key: str = "pk-lf-test", secret_key: str = "sk-lf-test") -> None:
        self.public_key, self.secret_key = public_key, secret_key
        self.expected_auth = "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode("ascii")
        self.requests: list[dict[str, str]] = []
        self.rejected = 0
        self._spans: list[RecordedSpan] = []
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._release.set()
        self.arrivals = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.recorder = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-recorder", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """The LANGFUSE_* variables that point the SDK here."""
        return {"LANGFUSE_PUBLIC_KEY": self.public_key, "LANGFUSE_SECRET_KEY": self.secret_key,
                "LANGFUSE_BASE_URL": self.base_url}

    def start(self) -> OtlpRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OtlpRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Keep every request waiting (unanswered) until the block ends."""
        self._release.clear()
        try:
            yield
        finally:
            self._release.set()

    def _arrived(self, path: str) -> None:
        with self._cond:
            self.arrivals += 1
            self._cond.notify_all()

    def _add(self, request: ExportTraceServiceRequest, headers: dict[str, str]) -> None:
        spans = []
        for resource_spans in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                scope_attrs = {kv.key: _value(kv.value) for kv in scope_spans.scope.attributes}
                for span in scope_spans.spans:
                    spans.append(RecordedSpan(
                        name=span.name, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
                        attributes={kv.key: _value(kv.value) for kv in span.attributes},
                        scope=scope_spans.scope.name, scope_attributes=scope_attrs, resource=resource))
        with self._cond:
            self.requests.append(headers)
            self._spans.extend(spans)
            self._cond.notify_all()

    def spans(self) -> list[RecordedSpan]:
        with self._cond:
            return list(self._spans)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RecordedSpan]:
        """Block until at least ``count`` spans arrived (or the timeout passes), then return them all."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._spans) >= count, timeout)
            return list(self._spans)

    def wait_for_arrival(self, timeout: float = 10.0) -> bool:
        """Block until a request reached the server (even one being held)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.arrivals > 0, timeout)
