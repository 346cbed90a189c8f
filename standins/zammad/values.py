"""Values as Zammad writes and reads them: Ruby's JSON, Rails' times, Zammad's decimals, ids
and booleans as its parameters may carry them."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from standins.zammad.refusal import unprocessable


def ruby_json(value: Any) -> bytes:
    """JSON as Ruby's ``to_json`` writes it: compact, UTF-8, ``<>&`` and U+2028/9 escaped.
    Zammad sends webhook bodies as ``params.to_json`` (lib/user_agent.rb, set_params) and
    renders API answers with ``render json:``; the escaping is Rails' (ActiveSupport's JSON
    encoding), not Zammad's own code."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # These characters can only occur inside JSON strings, so plain replacement is safe.
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def iso(moment: datetime) -> str:
    """A time as Zammad's JSON carries it: UTC, milliseconds, Z (Rails' JSON time format)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}.*)?$")


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 date or date-time as aware UTC; naive values count as UTC (as Rails does)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str) and _ISO_LIKE.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def decimal_string(value: object) -> str:
    """Zammad's decimal columns (time_unit) serialise as strings like "15.0"."""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise unprocessable(f"time_unit {value!r} is not a number") from exc
    text = format(number.normalize(), "f")
    return text if "." in text else text + ".0"


def as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise unprocessable(f"{what} must be an id, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise unprocessable(f"{what} must be an id, not {value!r}")


def as_bool(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    raise unprocessable(f"{what} must be true or false, not {value!r}")


def condition_text(value: object) -> str:
    """Trigger condition values are strings in Zammad; render record values the same way."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return list(value)
    return [value]
