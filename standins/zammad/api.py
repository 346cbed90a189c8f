"""The REST side's request and reply: Rails' params and booleans, Zammad's pagination, JSON
answers as Rails renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from standins.zammad.refusal import unprocessable
from standins.zammad.values import ruby_json

# ActiveModel::Type::Boolean::FALSE_VALUES, how has_response_extentions.rb reads expand & co.
FALSE_FLAGS = frozenset({"0", "f", "F", "false", "FALSE", "off", "OFF"})


@dataclass
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    user_id: int

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def expand(self) -> bool:
        """response_expand? (has_response_extentions.rb): any Rails true, not only "true"."""
        return self.flag("expand")

    def param(self, name: str) -> Any:
        """Rails' ``params``: a JSON body's keys win over the query string's."""
        if isinstance(self.body, dict) and name in self.body:
            return self.body[name]
        return self.arg(name)

    def flag(self, name: str) -> bool:
        """``ActiveModel::Type::Boolean.new.cast(params[name])``
        (app/controllers/application_controller/has_response_extentions.rb)."""
        value = self.param(name)
        if value is None or value is False or value == "" or value == 0:
            return False
        return str(value) not in FALSE_FLAGS

    def params(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise unprocessable("Request body must be a JSON object")
        return dict(self.body)


def paginate(records: list[Any], req: Request, *, default: int, maximum: int = 1000) -> list[Any]:
    """Zammad's pagination (app/controllers/concerns/can_paginate/pagination.rb): page counts
    from 1, per_page (else limit, from the query string or a JSON body) capped silently at
    the endpoint's maximum; 100 and 1000 unless the controller's paginate_with says
    otherwise (can_paginate.rb). Zammad reads a non-number as 0; the stand-in as absent."""

    def number(name: str, fallback: int) -> int:
        text = str(req.param(name) or "")
        return int(text) if text.isdigit() and int(text) > 0 else fallback

    page = number("page", 1)
    per_page = min(number("per_page", number("limit", default)), maximum)
    start = (page - 1) * per_page
    return records[start : start + per_page]


def json_reply(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(
        status,
        ruby_json(value),
        [("Content-Type", "application/json; charset=utf-8"), *(headers or [])],
    )
