"""The one error shape of every endpoint: `{"error": CODE, "message": TEXT, "fields": {...}}`."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException


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


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def problem(e: ApiProblem) -> ResponseReturnValue:
        return jsonify(error_body(e.code, e.message, e.fields)), e.status

    @app.errorhandler(HTTPException)
    def http(e: HTTPException) -> ResponseReturnValue:
        code = (e.name or "error").lower().replace(" ", "_")
        return jsonify(error_body(code, e.description or "")), e.code or 500
