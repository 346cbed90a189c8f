"""JSON logs: one object per line on stderr, with a fixed dotted event name.

Our code logs `logger.info("zammad.webhook.accepted", extra={...})`: the message is the event
name and the details are `extra` fields, so a log line can be found by its name and nothing
personal rides in free text. Fields whose names suggest a secret are masked and `payload` /
`body` fields are dropped, at any depth, whoever logs them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "signature",
    "api_key",
    "apikey",
    "cookie",
    "credential",
)
DROPPED = frozenset({"payload", "body"})  # webhook bodies carry names, e-mails and messages
MASK = "***"
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$")
# A token that slipped into free text (an exception message, another library's line).
BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
# Terminal colour and cursor codes (ANSI CSI sequences), as Werkzeug puts into its request
# lines whether or not stderr is a terminal: a JSON log is read by machines.
TERMINAL_CODES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# What every LogRecord has: the rest of its __dict__ is what the caller passed as `extra`.
STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
_HANDLER_FLAG = "_entitlements_json"


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def clean(value: Any, depth: int = 0) -> Any:
    """`value` with secret-named keys masked and payload/body keys dropped, in nested
    mappings and sequences too; bearer tokens in strings masked, terminal codes removed."""
    if depth > 8:  # deeper than anything we log: summarise rather than walk it
        return "…"
    if isinstance(value, dict):
        return {
            str(k): MASK if is_secret_name(str(k)) else clean(v, depth + 1)
            for k, v in value.items()
            if str(k).lower() not in DROPPED
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [clean(v, depth + 1) for v in value]
    if isinstance(value, str):
        return BEARER.sub(r"\1" + MASK, TERMINAL_CODES.sub("", value))
    return value


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra` fields."""
    return {k: v for k, v in vars(record).items() if k not in STANDARD and not k.startswith("_")}


class RedactingFilter(logging.Filter):
    """Cleans the record itself: secret-named extra fields masked, `payload` / `body` ones
    removed, so that handlers called after ours get the cleaned record too."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in extra_fields(record).items():
            if key.lower() in DROPPED:
                delattr(record, key)
            elif is_secret_name(key):
                setattr(record, key, MASK)
            else:
                setattr(record, key, clean(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            # Our messages are event names; other libraries' free text goes to `message`.
            "event": text if EVENT_NAME.match(text) else "log",
            "logger": record.name,
        }
        if line["event"] == "log":
            line["message"] = clean(text)
        # Cleaned here too: the formatter may be used on a handler without the filter.
        for key, value in clean(extra_fields(record)).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = clean(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = clean(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """JSON lines on stderr (or `stream`) for every logger that propagates to the root; calling
    it again replaces the handler it installed. Returns the handler."""
    name = level.upper()
    if name not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_FLAG, True)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(name)
    return handler
