"""Every exchange, one JSON object per line, one file per day, secrets redacted first."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coffee_maker.secrets import _ASSIGNMENT, _PATTERNS

REDACTED = "[REDACTED]"
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z)",
                        re.DOTALL)


def redact(value: Any) -> Any:
    """The same structure with token shapes, private keys and secret assignments replaced."""
    if isinstance(value, str):
        text = _PEM_BLOCK.sub(REDACTED, value)  # the whole block: the key body spans lines
        for _, pattern in _PATTERNS:
            text = pattern.sub(REDACTED, text)
        text = _ASSIGNMENT.sub(lambda m: m.group(0).replace(m.group(1), REDACTED), text)
        return re.sub(r"(?i)(password|passwd|token|secret|api[_-]?key)(\s*[:=]\s*)(\S+)",
                      lambda m: m.group(1) + m.group(2) + (REDACTED if m.group(3) != REDACTED else m.group(3)), text)
    if isinstance(value, Mapping):
        return {k: (REDACTED if re.search(r"(?i)password|secret|token|api[_-]?key", str(k)) and v else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


class InteractionLog:
    """Append-only JSONL files named by day; appends are serialised so lines never interleave."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        clean: dict[str, Any] = redact(dict(record))
        clean.setdefault("timestamp", datetime.now(UTC).isoformat(timespec="milliseconds"))
        day = str(clean["timestamp"])[:10]
        self.directory.mkdir(parents=True, exist_ok=True)
        line = json.dumps(clean, ensure_ascii=False, default=str) + "\n"
        with self._lock, (self.directory / f"{day}.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(line)
        return clean

    def read(self, *, day: str | None = None, priority: str | None = None, kind: str | None = None
             ) -> Iterator[dict[str, Any]]:
        files = [self.directory / f"{day}.jsonl"] if day else sorted(self.directory.glob("*.jsonl"))
        for path in files:
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if priority and record.get("priority") != priority:
                    continue
                if kind and record.get("interaction_type") != kind:
                    continue
                yield record
