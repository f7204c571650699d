"""A secret scan of added lines: known token shapes, private keys, and high-entropy assignments.

Pure functions over text, so the corpus test can hit it directly. The allowlist
(regexes from config) removes false positives a person has reviewed.

:func:`redact` is the one redaction for everything a person or a log sees: the
interaction log and every notification channel (the escalator redacts a question
or notice once, where it is made), so all of them show the same text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("AWS secret access key", re.compile(r"(?i)aws_?secret_?access_?key\W{0,4}[=:]\s*[\"']?[A-Za-z0-9/+=]{40}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("Slack token", re.compile(r"\b(?:xox[abposr]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})")),
    ("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}")),
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}")),
)
_ASSIGNMENT = re.compile(
    r"(?i)\b[\w.-]*(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|auth)[\w.-]*"
    r"[\"']?\s*(?::=|=|:)\s*[\"']([^\s\"']{12,})[\"']"
)
_PLACEHOLDER = re.compile(r"(?i)^(?:x+|\*+|<.*>|\$\{.*\}|%\(.*\)s|changeme|example.*|your[_-].*|dummy.*|test.*|fake.*|placeholder.*|\.\.\.)$")
_ENV_FILE = re.compile(r"(?:^|/)\.env(?:\.[\w-]+)?$")
_ENV_OK = re.compile(r"\.(?:example|sample|template|dist)$")


@dataclass(frozen=True)
class SecretFinding:
    path: str
    line: int
    kind: str

    def sentence(self) -> str:
        return f"{self.path}:{self.line} looks like a {self.kind}" if self.line else f"{self.path} is a {self.kind}"


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values()) if text else 0.0


def scan_line(line: str, allow: Sequence[re.Pattern[str]] = ()) -> str | None:
    """The kind of secret on this added line, or None."""
    for kind, pattern in _PATTERNS:
        match = pattern.search(line)
        if match and not any(a.search(match.group(0)) for a in allow):
            return kind
    for match in _ASSIGNMENT.finditer(line):
        value = match.group(1)
        if _PLACEHOLDER.match(value) or any(a.search(value) for a in allow):
            continue
        if entropy(value) >= 3.5 and not value.isalpha():
            return "high-entropy secret assignment"
    return None


def is_env_file(path: str) -> bool:
    return bool(_ENV_FILE.search(path)) and not _ENV_OK.search(path)


def scan(added: Iterable[tuple[str, int, str]], paths: Iterable[str], allowlist: Sequence[str] = ()) -> list[SecretFinding]:
    """Findings for added lines ``(path, line, text)`` and for the changed ``paths`` themselves."""
    allow = [re.compile(a) for a in allowlist]
    findings = [SecretFinding(p, 0, ".env file") for p in paths if is_env_file(p)]
    for path, number, text in added:
        kind = scan_line(text, allow)
        if kind:
            findings.append(SecretFinding(path, number, kind))
    return findings


def added_lines(diff: str) -> list[tuple[str, int, str]]:
    """``(path, new line number, text)`` for every added line of a unified diff."""
    out: list[tuple[str, int, str]] = []
    path, number = "", 0
    for line in diff.split("\n"):
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else line[4:]
        elif line.startswith("@@"):
            match = re.search(r"\+(\d+)", line)
            number = int(match.group(1)) if match else 0
        elif line.startswith("+"):
            out.append((path, number, line[1:]))
            number += 1
        elif not line.startswith("-"):
            number += 1
    return out


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


def redact_text(text: str) -> str:
    """:func:`redact` for one string (a question, a notice)."""
    return str(redact(text))
