"""Field rules for the bounds of `adapter.limits`, shared by the request schemas. The OpenAPI
document (`adapter/web/openapi.py`) states each as a pattern, so that it cannot drift."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError, validate

from adapter.limits import date_problem


class InDateRange(validate.Validator):
    """A date or an aware date-time whose date, as written, lies in `adapter.limits`' range."""

    # The same range on the ISO text: years 1970 to 2200 (tests hold it to the constants).
    pattern = "^(19[7-9][0-9]|2[01][0-9]{2}|2200)-"

    def __call__(self, value: Any) -> Any:
        problem = date_problem(value) if isinstance(value, date) else None
        if problem:
            raise ValidationError(problem)
        return value


DATES = InDateRange()
# PostgreSQL text cannot hold NUL: name the field rather than fail on the query.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="must not contain NUL characters")
