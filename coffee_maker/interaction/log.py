"""Every exchange, one JSON object per line, one file per day, secrets redacted first."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coffee_maker.secrets import REDACTED, redact

__all__ = ["REDACTED", "InteractionLog", "redact"]


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
