"""`plans.yaml`: the strict schema that turns the admin's policy file into a `Policy`."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import time
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from adapter.calendar import BusinessCalendar, CalendarError
from adapter.engine import MESSAGE_FIELDS
from adapter.policy import (
    FLAG_CODES,
    FORECAST_DAYS,
    LANGUAGES,
    PERIODS,
    PRO_RATA,
    REACTION_UNITS,
    REQUESTERS,
    WARNING_CODES,
    Fee,
    FlagText,
    ForecastRule,
    Plan,
    Policy,
    Quota,
    Reaction,
    Term,
)
from mappings import yamlfile

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LICENCE_DATES = ("purchased_on", "accepted_on", "go_live_on")
SUPPORT_LEVELS = ("1st", "2nd", "3rd", "user")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Texts(fields.Dict):
    """`{de: ..., en: ...}`: one text per language, both required."""

    def __init__(self, *validators: Any) -> None:
        super().__init__(
            keys=fields.String(validate=validate.OneOf(LANGUAGES)),
            values=fields.String(validate=validate.Length(min=1)),
            required=True,
            validate=[_all_languages, *validators],
        )


def _all_languages(value: dict[str, str]) -> None:
    missing = [lang for lang in LANGUAGES if lang not in value]
    if missing:
        raise ValidationError(f"missing language(s): {', '.join(missing)}")


class ClockTime(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> time:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return time.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"not a time of day HH:MM: {text!r}") from None


def _timeframe(value: list[time]) -> None:
    if len(value) != 2 or not value[0] < value[1]:
        raise ValidationError(
            'a timeframe is [start, end] with start before end, e.g. ["09:00", "16:00"]'
        )


Timeframes = fields.List(fields.List(ClockTime(), validate=_timeframe))


class CalendarSchema(Strict):
    time_zone = fields.String(load_default="Europe/Berlin")
    country = fields.String(load_default=None, allow_none=True)
    subdivision = fields.String(load_default=None, allow_none=True)
    hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)), values=Timeframes, required=True
    )
    closed_days = fields.List(fields.Date(), load_default=list)
    special_hours = fields.Dict(keys=fields.Date(), values=Timeframes, load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> BusinessCalendar:
        try:
            return BusinessCalendar(
                time_zone=data["time_zone"],
                weekly_hours={
                    WEEKDAYS.index(day): [tuple(f) for f in frames]
                    for day, frames in data["hours"].items()
                },
                country=data["country"],
                subdivision=data["subdivision"],
                closed_days=data["closed_days"],
                special_hours={
                    day: [tuple(f) for f in frames] for day, frames in data["special_hours"].items()
                },
            )
        except CalendarError as e:
            raise ValidationError(str(e)) from e


class QuotaSchema(Strict):
    tickets = fields.Integer(required=True, validate=validate.Range(min=0))
    per = fields.String(required=True, validate=validate.OneOf(PERIODS))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Quota:
        return Quota(**data)


class ReactionSchema(Strict):
    amount = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    unit = fields.String(required=True, validate=validate.OneOf(REACTION_UNITS))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Reaction:
        return Reaction(**data)


class TermSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(("weeks_after_latest", "year_end")))
    weeks = fields.Integer(validate=validate.Range(min=1))
    from_dates = fields.List(
        fields.String(validate=validate.OneOf(LICENCE_DATES)), validate=validate.Length(min=1)
    )
    years_after_purchase = fields.Integer(validate=validate.Range(min=0))
    renewal_months = fields.Integer(load_default=0, validate=validate.Range(min=0))
    notice_months = fields.Integer(load_default=0, validate=validate.Range(min=0))

    @validates_schema
    def needs(self, data: dict[str, Any], **_: Any) -> None:
        required = {
            "weeks_after_latest": ("weeks", "from_dates"),
            "year_end": ("years_after_purchase",),
        }
        missing = {
            f: [f"required when kind is {data['kind']}"]
            for f in required[data["kind"]]
            if f not in data
        }
        if missing:
            raise ValidationError(missing)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Term:
        if "from_dates" in data:
            data["from_dates"] = tuple(data["from_dates"])
        return Term(**data)


class FeeSchema(Strict):
    kind = fields.String(
        required=True, validate=validate.OneOf(("included", "percent_of_list_price_per_year"))
    )
    # A price-list value: no default, may stay empty until the admin fills it in.
    percent = fields.Decimal(load_default=None, allow_none=True, validate=validate.Range(min=0))
    due = fields.String(
        required=True, validate=validate.OneOf(("included", "pro_rata_then_january_1"))
    )
    pro_rata = fields.String(load_default="days", validate=validate.OneOf(PRO_RATA))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Fee:
        return Fee(**data)


def _kinds(choices: tuple[str, ...]) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(choices)), required=True)


class PlanSchema(Strict):
    name = Texts()
    rank = fields.Integer(required=True)
    audience = _kinds(REQUESTERS)
    contract_partners = _kinds(REQUESTERS)
    support_levels = _kinds(SUPPORT_LEVELS)
    covers = Texts()
    ui_building = fields.Boolean(required=True)
    software_updates = fields.String(
        required=True, validate=validate.OneOf(("during_term", "always"))
    )
    third_party_projects = fields.String(
        required=True, validate=validate.OneOf(("option", "included", "no"))
    )
    quota = fields.Nested(QuotaSchema, required=True)
    free_remote_sessions = fields.Integer(required=True, validate=validate.Range(min=0))
    reaction = fields.Nested(ReactionSchema, required=True)
    may_open_tickets = _kinds(REQUESTERS)
    requires_trained = fields.Boolean(required=True)
    term = fields.Nested(TermSchema, required=True)
    fee = fields.Nested(FeeSchema, required=True)


def _placeholders(value: dict[str, str]) -> None:
    errors = {}
    for lang, text in value.items():
        try:
            names = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
        except ValueError as e:
            errors[lang] = [str(e)]
            continue
        if unknown := sorted(names - set(MESSAGE_FIELDS)):
            braced = ", ".join("{" + n + "}" for n in unknown)
            allowed = ", ".join("{" + n + "}" for n in MESSAGE_FIELDS)
            errors[lang] = [f"unknown field(s) {braced}; allowed: {allowed}"]
    if errors:
        raise ValidationError(errors)


class FlagTextSchema(Strict):
    covered = fields.Boolean(load_default=True)
    label = Texts()
    message = Texts(_placeholders)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> FlagText:
        return FlagText(**data)


def _every(codes: tuple[str, ...]) -> Any:
    def check(value: dict[str, Any]) -> None:
        missing = [c for c in codes if c not in value]
        if missing:
            raise ValidationError(f"missing code(s): {', '.join(missing)}")

    return check


class ForecastSchema(Strict):
    days = fields.String(load_default=ForecastRule.days, validate=validate.OneOf(FORECAST_DAYS))
    min_days = fields.Integer(load_default=ForecastRule.min_days, validate=validate.Range(min=1))
    min_tickets = fields.Integer(
        load_default=ForecastRule.min_tickets, validate=validate.Range(min=1)
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ForecastRule:
        return ForecastRule(**data)


class PolicySchema(Strict):
    version = fields.Integer(required=True, validate=validate.Equal(1))
    calendar = fields.Nested(CalendarSchema, required=True)
    plans = fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(r"^[a-z][a-z0-9_]*$", error="plan codes are lower_snake_case")
        ),
        values=fields.Nested(PlanSchema),
        required=True,
        validate=validate.Length(min=1),
    )
    flags = fields.Dict(
        keys=fields.String(validate=validate.OneOf(FLAG_CODES)),
        values=fields.Nested(FlagTextSchema),
        required=True,
        validate=_every(FLAG_CODES),
    )
    warnings = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WARNING_CODES)),
        values=fields.Nested(FlagTextSchema),
        required=True,
        validate=_every(WARNING_CODES),
    )
    forecast = fields.Nested(ForecastSchema, load_default=ForecastRule)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Policy:
        plans = {
            code: Plan(
                code=code,
                **{k: frozenset(v) if isinstance(v, list) else v for k, v in spec.items()},
            )
            for code, spec in data["plans"].items()
        }
        return Policy(
            plans=plans,
            flags=data["flags"],
            warnings=data["warnings"],
            calendar=data["calendar"],
            forecast=data["forecast"],
        )


SHIPPED = "plans.yaml"


def shipped_path() -> Path:
    return Path(str(resources.files("mappings") / SHIPPED))


def load_policy(path: Path | None = None) -> Policy:
    """The policy in `path` (default: the shipped plans.yaml); raises yamlfile.FileErrors."""
    policy, doc = yamlfile.load(path or shipped_path(), PolicySchema())
    return replace(policy, digest=hashlib.sha256(doc.text.encode()).hexdigest()[:16])
