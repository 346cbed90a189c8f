"""Schemas of the admin API (`adapter/web/admin_api.py`): requests load into domain objects,
answers dump from them. `adapter/web/openapi.py` documents every one of them from these fields,
so a field's `metadata` (description, format) is its documentation. A decision's stored inputs
are shown with the schemas of `mappings.audit`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_dump,
    validate,
    validates_schema,
)

from adapter.contracts import ContractStatus
from adapter.engine import FLAG_CODES
from adapter.explain import ExplainQuestion
from adapter.oncall import MAX_EMPLOYEES, Booking
from adapter.policy import CATEGORIES, LANGUAGES, REQUESTERS, WARNING_CODES
from adapter.renewals import WINDOW, parse_within
from adapter.replay import ReplayRequest
from mappings.audit import DecisionInputsSchema, TicketId, load_decision_inputs
from mappings.bounds import DATES, NO_NUL
from mappings.licences import OPTIONS

STATUSES = tuple(str(s) for s in ContractStatus)
DECISION_FIELDS = ("plan", "contract", "quota", "reaction_due", "billable", "flags", "warnings")
FORMATS = ("json", "text")


def _date(description: str) -> dict[str, str]:
    return {"format": "date", "description": description}


def _instant(description: str) -> dict[str, str]:
    return {"format": "date-time", "description": description}


# The decision shape (`Decision.to_dict()`): dumped from stored and new decisions alike.


class TicketRefSchema(Schema):
    helpdesk = fields.String(metadata={"description": "The helpdesk, e.g. zammad."})
    id = TicketId(metadata={"description": "The ticket's id in that helpdesk."})


class FlagSchema(Schema):
    code = fields.String(validate=validate.OneOf(FLAG_CODES + WARNING_CODES))
    message = fields.String(metadata={"description": "The policy's text, in its language."})


class ContractViewSchema(Schema):
    id = fields.String(metadata={"description": "The contract's (and its licence's) id."})
    valid_from = fields.String(metadata=_date("The first day covered."))
    valid_until = fields.String(metadata=_date("The last day of the current term."))
    notice_by = fields.String(
        allow_none=True, metadata=_date("The last day to give notice; null: does not renew.")
    )
    status = fields.String(validate=validate.OneOf(STATUSES))


class QuotaStateSchema(Schema):
    period = fields.String(metadata={"description": "ISO week (2026-W48) or month (2026-11)."})
    used = fields.Integer(metadata={"description": "The ticket's place in the period if counted."})
    limit = fields.Integer()
    counted = fields.Boolean()


class DecisionSchema(Schema):
    """A ticket's entitlement: what explain prints with --format json."""

    ticket = fields.Nested(TicketRefSchema)
    plan = fields.String(allow_none=True, metadata={"description": "null: no contract covers."})
    contract = fields.Nested(ContractViewSchema, allow_none=True)
    quota = fields.Nested(QuotaStateSchema, allow_none=True)
    reaction_due = fields.String(allow_none=True, metadata=_instant("When work must start (UTC)."))
    billable = fields.Boolean()
    flags = fields.List(fields.Nested(FlagSchema), metadata={"description": "Why billable."})
    warnings = fields.List(fields.Nested(FlagSchema))


class DecisionRecordSchema(Schema):
    """One decision of the audit trail."""

    id = fields.Integer()
    decided_at = fields.AwareDateTime()
    policy = fields.String(metadata={"description": "Digest of the policy file it applied."})
    changed = fields.Boolean(metadata={"description": "It differs from the one before."})
    decision = fields.Nested(DecisionSchema)
    inputs = fields.Nested(DecisionInputsSchema)

    @pre_dump
    def unpack(self, stored: Any, **_: Any) -> dict[str, Any]:
        inputs = load_decision_inputs(stored.inputs)
        return {
            "id": stored.id,
            "decided_at": stored.decided_at,
            "policy": inputs.policy,
            "changed": stored.changed,
            "decision": stored.decision,
            "inputs": inputs,
        }


class DecisionHistorySchema(Schema):
    ticket = fields.Nested(TicketRefSchema)
    decisions = fields.List(
        fields.Nested(DecisionRecordSchema), metadata={"description": "Oldest first."}
    )


# Customers


class QuotaUseSchema(Schema):
    period = fields.String()
    label = fields.String(metadata={"description": "The period for people, e.g. Nov 2026."})
    used = fields.Integer(metadata={"description": "Tickets counted (active ledger entries)."})
    limit = fields.Integer()


class ContractUseSchema(Schema):
    id = fields.String()
    plan = fields.String()
    valid_from = fields.Date()
    valid_until = fields.Date(metadata={"description": "The last day of the current term."})
    notice_by = fields.Date(allow_none=True, metadata={"description": "null: does not renew."})
    status = fields.String(validate=validate.OneOf(STATUSES))
    quota = fields.List(
        fields.Nested(QuotaUseSchema), metadata={"description": "The current period first."}
    )


class CustomerSchema(Schema):
    customer_number = fields.String()
    name = fields.String(allow_none=True)
    plan = fields.String(
        allow_none=True, metadata={"description": "The best covering contract's; null: none."}
    )
    valid_until = fields.Date(allow_none=True)
    notice_by = fields.Date(allow_none=True)
    contracts = fields.List(fields.Nested(ContractUseSchema))


class CustomersSchema(Schema):
    today = fields.Date(metadata={"description": "The day statuses are given for."})
    customers = fields.List(fields.Nested(CustomerSchema))


class CustomersQuerySchema(Schema):
    periods = fields.Integer(
        load_default=3,
        validate=validate.Range(min=1, max=24),
        metadata={"description": "Quota periods per contract: the current and those before."},
    )


# Contracts due


class ContractsDueQuerySchema(Schema):
    within = fields.String(
        load_default=WINDOW,
        metadata={"description": "The window from today: days (90d, 90) or weeks (12w)."},
    )
    customer = fields.String(
        load_default=None, validate=NO_NUL, metadata={"description": "Only this customer's."}
    )

    @post_load
    def days(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        try:
            return {**data, "within": parse_within(data["within"])}
        except ValueError as e:
            raise ValidationError(str(e), "within") from None


class ContractDueSchema(Schema):
    due = fields.String(
        attribute="what",
        validate=validate.OneOf(("notice", "end")),
        metadata={"description": "The last day to give notice, or the end of the term."},
    )
    on = fields.Date()
    contract = fields.String(attribute="contract.id")
    customer = fields.String(attribute="contract.customer_number")
    customer_name = fields.String(allow_none=True)
    plan = fields.String(attribute="contract.plan")
    status = fields.String()
    valid_until = fields.Date(metadata={"description": "The current term's last day."})
    notice_by = fields.Date(allow_none=True)
    renews_until = fields.Date(
        allow_none=True,
        metadata={"description": "An end after which the contract goes on: the next term's end."},
    )


class ContractsDueSchema(Schema):
    today = fields.Date(metadata={"description": "The first day of the window."})
    within_days = fields.Integer()
    due = fields.List(fields.Nested(ContractDueSchema), metadata={"description": "Soonest first."})


# Dead letters


class AttemptSchema(Schema):
    at = fields.String(metadata=_instant("When it failed, or was put back."))
    error = fields.String(allow_none=True)
    retried = fields.Boolean(dump_default=False, metadata={"description": "Put back by hand."})


class DeadLetterSchema(Schema):
    id = fields.String(attribute="key", metadata={"description": "queue-row, e.g. outbox-7."})
    queue = fields.String(validate=validate.OneOf(("inbox", "outbox")))
    helpdesk = fields.String()
    ticket_id = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    since = fields.AwareDateTime(metadata={"description": "The last failure."})
    history = fields.List(fields.Nested(AttemptSchema))


class DeadLettersSchema(Schema):
    dead_letters = fields.List(fields.Nested(DeadLetterSchema))


class RetriedSchema(Schema):
    id = fields.String()
    status = fields.String(validate=validate.OneOf(("queued",)))


# Explain


@dataclass(frozen=True)
class ExplainRequest:
    question: ExplainQuestion
    format: str  # "json": the decision; "text": as explain prints it


class ExplainRequestSchema(Schema):
    """The inputs of `entitlements explain`, by the same names."""

    customer = fields.String(
        load_default=None,
        validate=[validate.Length(min=1), NO_NUL],
        metadata={"description": "Use this customer's contracts and ledger (or describe one)."},
    )
    plan = fields.String(load_default=None)
    purchased = fields.Date(load_default=None, validate=DATES)
    accepted = fields.Date(load_default=None, validate=DATES)
    go_live = fields.Date(load_default=None, validate=DATES)
    cancelled = fields.Date(
        load_default=None, validate=DATES, metadata={"description": "Notice given on."}
    )
    options = fields.List(fields.String(validate=validate.OneOf(OPTIONS)), load_default=list)
    created = fields.AwareDateTime(
        load_default=lambda: datetime.now(UTC),
        validate=DATES,
        metadata={"description": "Ticket creation, with an offset; default: now."},
    )
    categories = fields.List(fields.String(validate=validate.OneOf(CATEGORIES)), load_default=list)
    service = fields.String(load_default=None)
    remote_sessions = fields.Integer(load_default=0, validate=validate.Range(min=0))
    requester = fields.String(load_default="partner", validate=validate.OneOf(REQUESTERS))
    untrained = fields.Boolean(load_default=False)
    used = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0),
        metadata={"description": "Tickets already counted in the ticket's period."},
    )
    language = fields.String(
        load_default=None,
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "Default: the LANGUAGE setting."},
    )
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))

    def __init__(self, plans: Collection[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields["plan"].validators.append(validate.OneOf([*plans]))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ExplainRequest:
        fmt = data.pop("format")
        question = ExplainQuestion(
            **{
                **data,
                "options": tuple(data["options"]),
                "categories": frozenset(data["categories"]),
            }
        )
        return ExplainRequest(question, fmt)


# Replay


class ReplayRequestSchema(Schema):
    since = fields.AwareDateTime(
        load_default=None, validate=DATES, metadata={"description": "Tickets created at or after."}
    )
    until = fields.AwareDateTime(
        load_default=None, validate=DATES, metadata={"description": "And before."}
    )
    customer = fields.String(
        load_default=None,
        validate=[validate.Length(min=1), NO_NUL],
        metadata={"description": "Only this customer's tickets."},
    )
    apply = fields.Boolean(
        load_default=False,
        metadata={"description": "Record the changed decisions and write them back."},
    )

    @validates_schema
    def range(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError("must be after since", "until")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ReplayRequest:
        return ReplayRequest(**data)


class TicketReplaySchema(Schema):
    ticket = fields.Nested(TicketRefSchema)
    customer_number = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    changed_fields = fields.List(fields.String(validate=validate.OneOf(DECISION_FIELDS)))
    before = fields.Nested(DecisionSchema, metadata={"description": "The latest stored one."})
    after = fields.Nested(DecisionSchema, metadata={"description": "Under the current policy."})
    applied = fields.Boolean(metadata={"description": "Recorded and queued for write-back."})

    @pre_dump
    def unpack(self, result: Any, **_: Any) -> dict[str, Any]:
        return {
            "ticket": {"helpdesk": result.helpdesk, "id": result.ticket_id},
            "customer_number": result.customer_number,
            "created_at": result.created_at,
            "changed_fields": list(result.changes),
            "before": result.before,
            "after": result.decision,
            "applied": result.applied,
        }


class SkippedSchema(Schema):
    ticket = fields.Nested(TicketRefSchema)
    reason = fields.String()

    @pre_dump
    def unpack(self, skipped: Any, **_: Any) -> dict[str, Any]:
        return {
            "ticket": {"helpdesk": skipped.helpdesk, "id": skipped.ticket_id},
            "reason": skipped.reason,
        }


class ReplayReportSchema(Schema):
    apply = fields.Boolean()
    since = fields.AwareDateTime(allow_none=True)
    until = fields.AwareDateTime(allow_none=True)
    customer = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(metadata={"description": "The instant decided as of."})
    tickets = fields.Integer(metadata={"description": "Tickets decided again."})
    changed = fields.Integer(metadata={"description": "Of those, with a different decision."})
    results = fields.List(
        fields.Nested(TicketReplaySchema),
        metadata={"description": "The changed ones, in creation order."},
    )
    skipped = fields.List(fields.Nested(SkippedSchema))

    @pre_dump
    def unpack(self, report: Any, **_: Any) -> dict[str, Any]:
        request = report.request
        return {
            "apply": request.apply,
            "since": request.since,
            "until": request.until,
            "customer": request.customer,
            "decided_at": report.decided_at,
            "tickets": report.tickets,
            "changed": len(report.changed),
            "results": report.changed,
            "skipped": report.skipped,
        }


CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="a time of day HH:MM")


class OnCallBookingSchema(Schema):
    """An extended on-call booking (Erweiterte Rufbereitschaft) for one customer."""

    customer = fields.String(required=True, validate=[validate.Length(min=1, max=64), NO_NUL])
    days = fields.List(
        fields.Date(validate=DATES), required=True, validate=validate.Length(min=1, max=366)
    )
    start = fields.String(
        required=True, validate=CLOCK, metadata={"description": "Window start, HH:MM."}
    )
    end = fields.String(
        required=True, validate=CLOCK, metadata={"description": "Window end, HH:MM."}
    )
    employees = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_EMPLOYEES))
    hours = fields.Float(
        required=True,
        validate=validate.Range(min=0, max=24, min_inclusive=False),
        metadata={"description": "Working hours booked per day, all employees together."},
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Booking:
        return Booking(
            data["customer"],
            tuple(data["days"]),
            time.fromisoformat(data["start"]),
            time.fromisoformat(data["end"]),
            data["employees"],
            data["hours"],
        )


class OnCallBookedSchema(Schema):
    booking_id = fields.String(required=True)
    customer = fields.String(required=True)
    days = fields.List(fields.Date(), required=True)
    employees = fields.Integer(required=True)
    base_fees = fields.Integer(required=True, metadata={"description": "Days x employees."})


class OnCallCancelSchema(Schema):
    """Days of a booking to cancel; none: every day whose window has not begun."""

    days = fields.List(
        fields.Date(validate=DATES),
        load_default=list,
        validate=validate.Length(max=366),
        metadata={"description": "Booked days to cancel; empty or missing: all still to come."},
    )


class OnCallCancelledSchema(Schema):
    booking_id = fields.String(required=True)
    cancelled = fields.List(
        fields.Date(), required=True, metadata={"description": "Days cancelled by this request."}
    )
    free = fields.List(
        fields.Date(), required=True, metadata={"description": "Of those, cancelled in time."}
    )
    cancellation_fees = fields.Integer(
        required=True,
        metadata={"description": "Late days x employees: on_call_cancellation_fee lines."},
    )
