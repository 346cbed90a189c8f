"""The one error shape of every endpoint: `{"error": CODE, "message": TEXT, "fields": {...}}`."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from adapter import metrics
from adapter.limits import UnacceptableJson


class ApiProblem(Exception):
    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "fields": fields or {}}


def refused_json(e: UnacceptableJson) -> ApiProblem:
    """400 for a body that parses as JSON but is refused (too deep, not Unicode text)."""
    where = f" at {e.path}" if e.path else ""
    fields = {e.path: str(e)} if e.path else {}
    return ApiProblem(400, "invalid_json", f"the body has {e}{where}", fields)


def no_nul_in_path() -> None:
    """A blueprint's `before_request` (after its token check): nothing stored is named with a
    NUL (PostgreSQL text cannot hold one), so such a path is not found, rather than a query
    that fails."""
    for name, value in (request.view_args or {}).items():
        if "\x00" in str(value):
            problem = "must not contain NUL characters"
            raise ApiProblem(404, "not_found", f"{name} {problem}", {name: problem})


def _count_if_webhook(status: int) -> None:
    """A refused delivery of a helpdesk's webhook (its blueprint is named after it)."""
    if request.blueprint in current_app.extensions["entitlements"].helpdesks:
        metrics.count_webhook_refused(request.blueprint, status)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def problem(e: ApiProblem) -> ResponseReturnValue:
        _count_if_webhook(e.status)
        return jsonify(error_body(e.code, e.message, e.fields)), e.status

    @app.errorhandler(HTTPException)
    def http(e: HTTPException) -> ResponseReturnValue:
        code = (e.name or "error").lower().replace(" ", "_")
        _count_if_webhook(e.code or 500)
        return jsonify(error_body(code, e.description or "")), e.code or 500
