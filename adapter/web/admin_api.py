"""The admin API under `/api/v1`: customers and quota use, contracts due (notice deadlines and
ends), a ticket's decision history (the audit trail), dead letters and their retry, explain
and replay.

Bearer `ADMIN_TOKEN`, compared in constant time: 401 without a bearer token, 403 with a wrong
one, 503 when no token is configured (the API is never open). Requests and answers are the
schemas of `mappings.admin`, which the OpenAPI document describes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError

from adapter.admin import customers, retry_dead_letter
from adapter.explain import ExplainError, explain_ticket, render_text
from adapter.limits import UnacceptableJson, loads
from adapter.oncall import cancellation_is_free, days_to_cancel, validate_booking
from adapter.renewals import contracts_due
from adapter.replay import replay
from adapter.web import services, throttle
from adapter.web.errors import ApiProblem, no_nul_in_path, refused_json
from mappings.admin import (
    ContractsDueQuerySchema,
    ContractsDueSchema,
    CustomerSchema,
    CustomersQuerySchema,
    CustomersSchema,
    DeadLettersSchema,
    DecisionHistorySchema,
    DecisionSchema,
    ExplainRequestSchema,
    OnCallBookedSchema,
    OnCallBookingSchema,
    OnCallCancelledSchema,
    OnCallCancelSchema,
    ReplayReportSchema,
    ReplayRequestSchema,
    RetriedSchema,
)
from mappings.prices import load_prices
from mappings.yamlfile import FileErrors, flatten_messages

logger = logging.getLogger(__name__)
bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")


@bp.before_request
def authorise() -> ResponseReturnValue | None:
    # The realm is shared with the admin page's sign-in: one token, one count of guesses.
    return throttle.require_bearer(
        services().settings.admin_token,
        realm="admin",
        setting="ADMIN_TOKEN",
        off="the admin API is off",
    )


bp.before_request(no_nul_in_path)  # after `authorise`


@bp.get("/customers")
def list_customers() -> ResponseReturnValue:
    query = _load(CustomersQuerySchema(), request.args.to_dict(), "invalid_query")
    s = services()
    today, found = customers(
        s.store,
        s.policy,
        datetime.now(UTC),
        periods=query["periods"],
        language=s.settings.language,
    )
    return CustomersSchema().dump({"today": today, "customers": found})


@bp.get("/customers/<customer_number>")
def one_customer(customer_number: str) -> ResponseReturnValue:
    query = _load(CustomersQuerySchema(), request.args.to_dict(), "invalid_query")
    s = services()
    _, found = customers(
        s.store,
        s.policy,
        datetime.now(UTC),
        periods=query["periods"],
        customer_number=customer_number,
        language=s.settings.language,
    )
    if not found:
        raise ApiProblem(404, "not_found", f"no contracts for customer {customer_number!r}")
    return CustomerSchema().dump(found[0])


@bp.get("/contracts/due")
def due_contracts() -> ResponseReturnValue:
    query = _load(ContractsDueQuerySchema(), request.args.to_dict(), "invalid_query")
    s = services()
    days = query["within"]
    today, found = contracts_due(s.store, s.policy, datetime.now(UTC), days, query["customer"])
    return ContractsDueSchema().dump({"today": today, "within_days": days, "due": found})


@bp.get("/tickets/<helpdesk>/<ticket_id>/decisions")
def decision_history(helpdesk: str, ticket_id: str) -> ResponseReturnValue:
    store = services().store
    with store.session() as session:
        decisions = store.decisions(session, helpdesk, ticket_id)
    if not decisions:
        raise ApiProblem(404, "not_found", f"no decisions for {helpdesk} ticket {ticket_id}")
    ticket = decisions[-1].decision["ticket"]  # the id as the helpdesk gives it (Zammad: int)
    return DecisionHistorySchema().dump({"ticket": ticket, "decisions": decisions})


@bp.get("/dead-letters")
def dead_letters() -> ResponseReturnValue:
    store = services().store
    with store.session() as session:
        letters = store.dead_letters(session)
    return DeadLettersSchema().dump({"dead_letters": letters})


@bp.post("/dead-letters/<key>/retry")
def retry(key: str) -> ResponseReturnValue:
    s = services()
    if not retry_dead_letter(s.store, key, datetime.now(UTC)):
        raise ApiProblem(404, "not_found", f"{key} is not a dead letter")
    logger.info("admin.dead-letter-retried", extra={"dead_letter": key})
    s.wake_worker()
    return RetriedSchema().dump({"id": key, "status": "queued"})


@bp.post("/explain")
def explain() -> ResponseReturnValue:
    s = services()
    asked = _load(ExplainRequestSchema(s.policy.plans), _json_body(), "invalid_request")
    try:
        decision, facts = explain_ticket(
            asked.question,
            s.policy,
            lambda: s.store,
            default_language=s.settings.language,
        )
    except ExplainError as e:
        raise ApiProblem(422, "invalid_request", str(e), dict.fromkeys(e.fields, str(e))) from e
    if asked.format == "text":
        language = asked.question.language or s.settings.language
        text = render_text(decision, facts, s.policy, language) + "\n"
        return Response(text, mimetype="text/plain")
    return DecisionSchema().dump(decision.to_dict())


@bp.post("/replay")
def replay_tickets() -> ResponseReturnValue:
    s = services()
    asked = _load(ReplayRequestSchema(), _json_body(), "invalid_request")
    report = replay(s, asked, origin="api", now=datetime.now(UTC))
    logger.info(
        "admin.replay",
        extra={"apply": asked.apply, "tickets": report.tickets, "changed": len(report.changed)},
    )
    if asked.apply and report.changed:
        s.wake_worker()  # the write-backs are in the outbox
    return ReplayReportSchema().dump(report)


@bp.post("/on-call-bookings")
def book_on_call() -> ResponseReturnValue:
    s = services()
    booking = _load(OnCallBookingSchema(), _json_body(), "invalid_request")
    now = datetime.now(UTC)
    errors = validate_booking(booking, today=now.astimezone(s.policy.calendar.time_zone).date())
    if errors:
        reasons = "; ".join(errors)
        raise ApiProblem(422, "booking_refused", reasons, {"booking": reasons})
    with s.store.session() as session:
        stored = s.store.add_booking(session, booking, now)
    logger.info("admin.on-call-booked", extra={"booking_id": stored.booking_id})
    answer = {
        "booking_id": stored.booking_id,
        "customer": stored.customer,
        "days": list(stored.days),
        "employees": stored.employees,
        "base_fees": len(stored.days) * stored.employees,
    }
    return OnCallBookedSchema().dump(answer)


@bp.post("/on-call-bookings/<booking_id>/cancel")
def cancel_on_call(booking_id: str) -> ResponseReturnValue:
    s = services()
    asked = _load(OnCallCancelSchema(), _json_body(), "invalid_request")
    tz = s.policy.calendar.time_zone
    try:
        prices = load_prices(s.settings.mapping("prices.yaml"))
    except FileErrors as e:  # what a cancellation costs cannot be said: cancel nothing
        raise ApiProblem(503, "prices_invalid", f"prices.yaml is not valid: {e}") from e
    now = datetime.now(UTC)
    with s.store.session() as session:
        booking = s.store.booking(session, booking_id, lock=True)
        if booking is None:
            raise ApiProblem(404, "not_found", f"no on-call booking {booking_id!r}")
        wanted, errors = days_to_cancel(booking, asked["days"], now, tz)
        if errors:
            reasons = "; ".join(errors)
            raise ApiProblem(422, "cancellation_refused", reasons, {"days": reasons})
        s.store.cancel_days(session, booking_id, wanted, now)
    logger.info("admin.on-call-cancelled", extra={"booking_id": booking_id, "days": len(wanted)})
    free = [d for d in wanted if cancellation_is_free(d, now, tz, prices)]
    answer = {
        "booking_id": booking_id,
        "cancelled": wanted,
        "free": free,
        "cancellation_fees": (len(wanted) - len(free)) * booking.employees,
    }
    return OnCallCancelledSchema().dump(answer)


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiProblem(415, "unsupported_media_type", "send Content-Type: application/json")
    try:
        data = loads(request.get_data(cache=False) or b"{}")
    except UnacceptableJson as e:
        raise refused_json(e) from e
    except ValueError as e:
        raise ApiProblem(400, "invalid_json", f"the body is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise ApiProblem(400, "invalid_json", "the body must be a JSON object")
    return data


def _load(schema: Schema, data: Any, code: str) -> Any:
    try:
        return schema.load(data)
    except ValidationError as e:
        fields = {".".join(map(str, p)) or "_schema": m for p, m in flatten_messages(e.messages)}
        raise ApiProblem(422, code, "invalid fields: " + ", ".join(fields), fields) from e
