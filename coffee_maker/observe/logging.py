"""structlog set-up: readable lines on a terminal, JSON lines to a rotating file.

Library code logs through ``structlog.get_logger()`` and never prints; the CLI
calls ``configure_logging`` once. Context (priority, attempt, phase, session id)
is bound with ``structlog.contextvars.bind_contextvars`` and appears on every line.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import TextIO

import structlog

from coffee_maker.config.layout import LOG_FILE as LOG_FILE_NAME


def _drop_none_context(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A context field not known yet (session id before the agent reports it) is left out, not printed as None."""
    for key in ("session_id", "phase", "attempt", "priority"):
        if key in event_dict and event_dict[key] is None:
            del event_dict[key]
    return event_dict


def _console_brief(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """People read the console: time of day only, no logger name (the JSON file keeps both)."""
    event_dict.pop("logger", None)
    stamp = event_dict.get("timestamp")
    if isinstance(stamp, str) and "T" in stamp:
        event_dict["timestamp"] = stamp.split("T", 1)[1][:8]
    return event_dict


def configure_logging(
    level: str = "info",
    *,
    log_dir: Path | None = None,
    stream: TextIO | None = None,
    max_bytes: int = 5_000_000,
    backups: int = 5,
) -> Path | None:
    """Route structlog through stdlib logging to the console (stderr) and a rotating JSON file.

    The console is for people: only ``level`` and above, no logger names, colours
    only on a terminal. The file is for tools: everything from debug up, one JSON
    object per line with the attempt context, rotated at ``max_bytes``.
    Returns the log file path, or None when no ``log_dir`` was given.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        _drop_none_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_coffee_maker", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG)

    out = stream or sys.stderr
    console = logging.StreamHandler(out)
    console.setLevel(getattr(logging, level.upper(), logging.INFO))
    console.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _console_brief,
                structlog.dev.ConsoleRenderer(colors=out.isatty(), pad_event_to=0 if not out.isatty() else 30),
            ],
        )
    )
    console._coffee_maker = True  # type: ignore[attr-defined]
    root.addHandler(console)

    log_file: Path | None = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / LOG_FILE_NAME
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        rotating.setLevel(logging.DEBUG)
        rotating.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.dict_tracebacks,
                    structlog.processors.JSONRenderer(ensure_ascii=False),
                ],
            )
        )
        rotating._coffee_maker = True  # type: ignore[attr-defined]
        root.addHandler(rotating)
    # Chatty libraries stay at warning unless we debug.
    for noisy in ("urllib3", "httpx", "httpcore", "git", "slack_sdk", "watchdog", "asyncio", "opentelemetry",
                  "langfuse"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    return log_file
