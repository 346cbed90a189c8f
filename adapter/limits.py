"""Bounds on what a sender or an admin may write, checked where it comes in, so that no input
reaches date arithmetic, the recursion limit or a database column that cannot hold it.

- Dates and date-times (licences, explain, replay, on-call days, command options) lie in
  the years 1970 to 2200, by the date as written. Contract terms, renewals and reaction times
  run a few years past a given date; Python's dates end in 9999, and the business calendar
  builds every year between the ones it is asked about.
- JSON from outside is nested at most `MAX_JSON_DEPTH` levels (our largest, Zammad's webhook,
  has five): deeper documents exhaust the recursion limit of the parser or of whoever walks
  them. Its strings are Unicode text: no unpaired surrogate escape, which no database takes.
- Row ids fit the 64-bit columns that hold them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

EARLIEST = date(1970, 1, 1)
LATEST = date(2200, 12, 31)
DATE_RANGE = f"must lie between {EARLIEST} and {LATEST}"
MAX_JSON_DEPTH = 64
MAX_ROW_ID = 2**63 - 1


def date_problem(value: date) -> str | None:
    """What is wrong with a date or (aware) date-time, by the date as written; None if fine."""
    day = value.date() if isinstance(value, datetime) else value
    return None if EARLIEST <= day <= LATEST else f"{DATE_RANGE}, not {value.isoformat()}"


class UnacceptableJson(ValueError):
    """JSON that parses but is refused; `path` names where (`licences[0].customer_name`),
    empty for the document as a whole."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


TOO_DEEP = f"arrays and objects nested deeper than {MAX_JSON_DEPTH} levels"
NOT_UNICODE = "a string with an unpaired surrogate escape (not Unicode text)"


def loads(text: str | bytes) -> Any:
    """`json.loads`, refusing with UnacceptableJson (a ValueError, like any other reason the
    text is not acceptable JSON) documents nested deeper than `MAX_JSON_DEPTH` and strings
    with unpaired surrogate escapes (`"\\ud800"`), which no database or encoder takes."""
    try:
        value = json.loads(text)
    except RecursionError:  # far deeper than the limit: the C parser gave up on its own
        raise UnacceptableJson(TOO_DEEP) from None
    _check(value)
    return value


def _check(value: Any) -> None:
    """Depth and strings of a parsed document, walked without recursion."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        item, level, path = stack.pop()
        if isinstance(item, str):
            if not _unicode(item):
                raise UnacceptableJson(NOT_UNICODE, _dotted(path))
            continue
        if not isinstance(item, dict | list):
            continue
        if level >= MAX_JSON_DEPTH:
            raise UnacceptableJson(TOO_DEEP)
        if isinstance(item, list):
            stack.extend((child, level + 1, (*path, i)) for i, child in enumerate(item))
            continue
        for key, child in item.items():
            if not _unicode(key):
                raise UnacceptableJson(f"{NOT_UNICODE} as a key", _dotted(path))
            stack.append((child, level + 1, (*path, key)))


def _unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _dotted(path: tuple[str | int, ...]) -> str:
    """`("licences", 0, "plan")` as `licences[0].plan`, as the push names fields."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text
