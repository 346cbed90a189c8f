"""`GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the HTTP API.

The core describes the admin API and the error shape; each enabled provider adds what it
serves (`Provider.openapi`: the ERP's licence push, the helpdesks' webhooks). apispec's
marshmallow plugin writes every schema from the marshmallow schemas the endpoints use (nested
schemas become components), so none can drift from what the endpoints accept and answer. Its
converter is made strict here (`Converter`): a field class or validator it has no JSON Schema
for raises, rather than being described loosely.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any, ClassVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from apispec.ext.marshmallow.schema_resolver import SchemaResolver
from flask import Blueprint, Flask, current_app
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from adapter.providers import enabled
from mappings import admin, audit
from mappings.bounds import InDateRange
from mappings.updates import EntitlementSchema

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")
DOCUMENT = "entitlements.openapi"  # app.extensions key: built once per app
OPENAPI_VERSION = "3.1.0"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "fields"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


@bp.get("/openapi.json")
def document() -> ResponseReturnValue:
    # Public: it describes the API, it holds no data.
    if DOCUMENT not in current_app.extensions:
        current_app.extensions[DOCUMENT] = openapi_document(current_app)
    return current_app.extensions[DOCUMENT]


def openapi_document(app: Flask) -> dict[str, Any]:
    services = app.extensions["entitlements"]
    spec = new_spec(
        info={
            "description": "Support-contract entitlements on helpdesk tickets: the admin API, "
            "and what the enabled providers receive (licence pushes, helpdesk webhooks). Every "
            'error body is `{"error": CODE, "message": TEXT, "fields": {...}}`.',
        }
    )
    spec.components.security_scheme(
        "adminToken",
        {"type": "http", "scheme": "bearer", "description": "The ENTITLEMENTS_ADMIN_TOKEN setting"},
    )
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.path(
        "/api/v1/openapi.json",
        operations={
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "The OpenAPI document"}},
            }
        },
    )
    for path, operations in admin_api_paths(services.policy.plans).items():
        spec.path(path, operations=operations)
    spec.components.security_scheme(
        "downloadToken",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "The ENTITLEMENTS_DOWNLOAD_TOKEN setting (the download platform's)",
        },
    )
    for path, operations in entitlement_paths().items():
        spec.path(path, operations=operations)
    for provider in enabled(services.settings):
        if provider.openapi is not None:
            provider.openapi(spec, app)
    return spec.to_dict()


def new_spec(**options: Any) -> APISpec:
    """An empty document whose marshmallow schemas are converted strictly (`Converter`)."""
    return APISpec("helpdesk-entitlements", "1", OPENAPI_VERSION, plugins=[Plugin()], **options)


def hub_signature_scheme(spec: Any, name: str, secret_setting: str) -> None:
    """A sender's `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>` security scheme
    (Zammad's and the RT Scrip's), keyed with the setting `secret_setting`."""
    spec.components.security_scheme(
        name,
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-Hub-Signature",
            "description": f"sha1=<hex HMAC-SHA1 of the raw body with {secret_setting}>",
        },
    )


def problem(text: str) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    return {"description": text, "content": {"application/json": {"schema": error}}}


THROTTLED = {
    **problem(
        "Too many wrong tokens from this address: every attempt is refused until "
        "`Retry-After` seconds have passed"
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
}


EXPLAIN_EXAMPLE = {
    "plan": "basic",
    "purchased": "2026-03-15",
    "created": "2026-11-27T17:30:00+01:00",
    "used": 4,
    "language": "en",
}


def admin_api_paths(plans: Collection[str]) -> dict[str, Any]:
    """The admin API (`adapter/web/admin_api.py`), its schemas from `mappings.admin`: apispec turns
    each schema instance below into a component and a `$ref` (`Resolver` tells answers apart)."""

    def answer(schema: Schema, text: str) -> dict[str, Any]:
        return {
            "description": text,
            "content": {"application/json": {"schema": schema}},
        }

    def body(schema: Schema, **more: Any) -> dict[str, Any]:
        media = {"schema": schema, **more}
        return {"required": True, "content": {"application/json": media}}

    def path(name: str, text: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": text,
        }

    def operation(operation_id: str, summary: str, description: str, **rest: Any) -> dict[str, Any]:
        responses = {
            **rest.pop("responses"),
            "401": problem("No bearer token"),
            "403": problem("The bearer token is not the admin token"),
            "429": THROTTLED,
            "503": problem("No ADMIN_TOKEN is configured: the admin API is off"),
        }
        return {
            "operationId": operation_id,
            "summary": summary,
            "description": description,
            "tags": ["admin"],
            "security": [{"adminToken": []}],
            **rest,
            "responses": responses,
        }

    periods = {"in": "query", "schema": admin.CustomersQuerySchema()}  # one per field
    body_errors = {
        "400": problem("The body is not a JSON object"),
        "415": problem("Content-Type is not application/json"),
    }
    return {
        "/api/v1/customers": {
            "get": operation(
                "listCustomers",
                "Customers with their contracts and quota use per period",
                "Every customer number with contracts; for each contract its current term and "
                "status, and the tickets counted in the current and earlier periods.",
                parameters=[periods],
                responses={
                    "200": answer(admin.CustomersSchema(), "The customers"),
                    "422": problem("A bad query parameter"),
                },
            )
        },
        "/api/v1/customers/{customer_number}": {
            "get": operation(
                "getCustomer",
                "One customer with its contracts and quota use",
                "As in the list, for one customer number.",
                parameters=[path("customer_number", "The customer number"), periods],
                responses={
                    "200": answer(admin.CustomerSchema(), "The customer"),
                    "404": problem("No contracts for this customer number"),
                    "422": problem("A bad query parameter"),
                },
            )
        },
        "/api/v1/contracts/due": {
            "get": operation(
                "contractsDue",
                "Contracts whose notice deadline or end falls in a window",
                "Notice deadlines and ends from today (in the calendar's time zone) to `within` "
                "days later, both ends included, soonest first; contracts that have ended are "
                "left out. What `entitlements contracts due --format json` prints.",
                parameters=[{"in": "query", "schema": admin.ContractsDueQuerySchema()}],
                responses={
                    "200": answer(admin.ContractsDueSchema(), "The contracts due"),
                    "422": problem("A bad query parameter"),
                },
            )
        },
        "/api/v1/tickets/{helpdesk}/{ticket_id}/decisions": {
            "get": operation(
                "ticketDecisions",
                "A ticket's decision history: the audit trail",
                "Every decision on the ticket, oldest first, each with what it was made from "
                "(facts, contracts, ledger), when, and the policy version (digest).",
                parameters=[
                    path("helpdesk", "The helpdesk, e.g. zammad"),
                    path("ticket_id", "The ticket's id in it"),
                ],
                responses={
                    "200": answer(admin.DecisionHistorySchema(), "The decisions"),
                    "404": problem("No decision on this ticket"),
                },
            )
        },
        "/api/v1/dead-letters": {
            "get": operation(
                "listDeadLetters",
                "Inbox and outbox rows that could not be processed or delivered",
                "With their attempts and every error.",
                responses={"200": answer(admin.DeadLettersSchema(), "The dead letters")},
            )
        },
        "/api/v1/dead-letters/{id}/retry": {
            "post": operation(
                "retryDeadLetter",
                "Put a dead letter back in its queue",
                "A fresh budget of attempts; its history is kept.",
                parameters=[path("id", "As listed: queue-row, e.g. outbox-7")],
                responses={
                    "200": answer(admin.RetriedSchema(), "Queued again"),
                    "404": problem("Not a dead letter"),
                },
            )
        },
        "/api/v1/explain": {
            "post": operation(
                "explain",
                "Explain: the decision for a hypothetical ticket (a what-if)",
                "The inputs of `entitlements explain`, by the same names; the answer is what it "
                "prints: the decision shape (`format: json`) or the text (`format: text`). "
                "Give either `customer` (its stored contracts and ledger) or `plan` with "
                "`purchased`. Nothing is stored.",
                requestBody=body(
                    admin.ExplainRequestSchema(plans),
                    examples={"basic": {"value": EXPLAIN_EXAMPLE}},
                ),
                responses={
                    "200": {
                        "description": "The decision",
                        "content": {
                            "application/json": {"schema": admin.DecisionSchema()},
                            "text/plain": {"schema": {"type": "string"}},
                        },
                    },
                    **body_errors,
                    "422": problem("Invalid inputs; `fields` names each"),
                },
            )
        },
        "/api/v1/replay": {
            "post": operation(
                "replay",
                "Decide stored tickets again under the current policy and contracts",
                "Tickets with a stored decision, created in [since, until) and/or of a "
                "customer, decided again from their stored facts in creation order and "
                "compared with their latest decision. A dry run (default) writes nothing; with "
                "`apply`, each changed ticket is recorded and written back as the worker "
                "would, and unchanged ones are left alone.",
                requestBody=body(admin.ReplayRequestSchema()),
                responses={
                    "200": answer(admin.ReplayReportSchema(), "What changed, or would"),
                    **body_errors,
                    "422": problem("Invalid inputs; `fields` names each"),
                },
            )
        },
        "/api/v1/on-call-bookings": {
            "post": operation(
                "bookOnCall",
                "Book extended on-call for a customer",
                "Refused (422 `booking_refused`, every broken rule named) when a day is fewer "
                "than 14 days ahead, the window is longer than 10 hours, or the booked hours "
                "exceed 8 per employee and day. Each booked day and employee is a base fee.",
                requestBody=body(admin.OnCallBookingSchema()),
                responses={
                    "200": answer(admin.OnCallBookedSchema(), "Booked"),
                    **body_errors,
                    "422": problem("Invalid inputs or a broken booking rule; `fields` names each"),
                },
            )
        },
        "/api/v1/on-call-bookings/{booking_id}/cancel": {
            "post": operation(
                "cancelOnCall",
                "Cancel days of an on-call booking",
                "The days given (none: every day whose window has not begun). A day cancelled "
                "at least `on_call.cancellation.free_days_ahead` days ahead (prices.yaml, "
                "default 14) is free; a later one is billed as `on_call_cancellation_fee` per "
                "employee. A day already cancelled stays as it was. Refused (422 "
                "`cancellation_refused`) when a day is not booked or its window has begun; 503 "
                "`prices_invalid` when prices.yaml is not valid.",
                parameters=[path("booking_id", "As `bookOnCall` answered it")],
                requestBody=body(admin.OnCallCancelSchema()),
                responses={
                    "200": answer(admin.OnCallCancelledSchema(), "Cancelled"),
                    **body_errors,
                    "404": problem("No such booking"),
                    "422": problem("Invalid inputs or days that cannot be cancelled"),
                },
            )
        },
    }


ENTITLEMENT_EXAMPLE = {
    "customer": "C-1001",
    "updates": True,
    "plan": "basic",
    "until": "2027-12-31",
}


def entitlement_paths() -> dict[str, Any]:
    """The download platform's call (`adapter/web/entitlement_api.py`), with its own token."""
    return {
        "/api/v1/customers/{customer_number}/entitlement": {
            "get": {
                "operationId": "getEntitlement",
                "summary": "Whether a customer may download software updates today",
                "description": "From the customer's contracts on the calendar's day: a contract "
                "that covers the day (active, or cancelled and running to its end) grants "
                "updates, commissioning only during its term, basic and pro while they run. "
                "`plan` is the best plan granting them and `until` the last day of the longest "
                "current term granting them (null, with `updates` false, when none does). "
                "Bearer ENTITLEMENTS_DOWNLOAD_TOKEN, not the admin token.",
                "tags": ["downloads"],
                "security": [{"downloadToken": []}],
                "parameters": [
                    {
                        "name": "customer_number",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "The customer number",
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The entitlement",
                        "content": {
                            "application/json": {
                                "schema": EntitlementSchema(),
                                "example": ENTITLEMENT_EXAMPLE,
                            }
                        },
                    },
                    "401": problem("No bearer token"),
                    "403": problem("The bearer token is not the download token"),
                    "404": problem("No contracts for this customer number"),
                    "429": THROTTLED,
                    "503": problem("No DOWNLOAD_TOKEN is configured: the endpoint is off"),
                },
            }
        }
    }


# apispec's conversion (apispec/ext/marshmallow/field_converter.py and openapi.py, 6.10), made
# strict and told requests from answers.


class Converter(OpenAPIConverter):
    """Field to property, strictly. An answer (dump) has every field, always, and no defaults;
    a request (load) requires its required fields and shows their defaults."""

    # What the document can describe; a subclass takes its nearest base's entry. apispec's
    # DEFAULT_FIELD_MAPPING ends in `fields.Field: (None, None)`, which field2type_and_format
    # reaches through the field's __mro__ for any other class: an untyped `{}`, silently. Our
    # own dict, too, since map_to_openapi_type writes into the shared default one.
    field_mapping: ClassVar[dict[type, tuple[Any, str | None]]] = {
        fields.String: ("string", None),
        fields.Integer: ("integer", None),
        fields.Float: ("number", None),
        fields.Decimal: (["string", "number"], None),  # a string keeps it exact: field2pattern
        fields.Boolean: ("boolean", None),
        fields.DateTime: ("string", "date-time"),
        fields.Date: ("string", "date"),
        fields.List: ("array", None),  # items from list2properties
        fields.Nested: (None, None),  # a $ref from nested2properties
        audit.TicketId: (["integer", "string"], None),
    }
    # apispec reads validators by duck typing and skips the rest silently. Exact classes: a
    # subclass may mean something else (ContainsOnly is a OneOf that apispec makes an enum).
    validators = (validate.OneOf, validate.Length, validate.Range, validate.Regexp, InDateRange)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dump = False  # set by Resolver while it resolves an answer
        self.sides: dict[type[Schema], bool] = {}

    def field2type_and_format(self, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
        # The first of apispec's attribute functions (init_attribute_functions): every field
        # and list item passes here.
        if not any(kind in self.field_mapping for kind in type(field).__mro__):
            raise TypeError(
                f"no JSON Schema for {type(field).__name__}: add it to Converter.field_mapping"
            )
        for validator in field.validators:
            if type(validator) not in self.validators:
                raise TypeError(f"no JSON Schema for validator {type(validator).__name__}")
        return super().field2type_and_format(field)

    def field2default(self, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
        described = {} if self.dump else super().field2default(field)
        return {k: v for k, v in described.items() if v is not None}  # None: not given

    def field2range(self, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
        # apispec's ignores min_inclusive/max_inclusive, and leaves a Decimal field's bounds
        # Decimals (strings in JSON).
        limits: dict[str, Any] = {}
        for v in field.validators:
            if isinstance(v, validate.Range):
                for end, bound, inclusive in (
                    ("Minimum", v.min, v.min_inclusive),
                    ("Maximum", v.max, v.max_inclusive),
                ):
                    if bound is not None:
                        key = end.lower() if inclusive else f"exclusive{end}"
                        limits[key] = float(bound) if isinstance(bound, Decimal) else bound
        return limits

    def field2pattern(self, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
        if isinstance(field, fields.Decimal):
            # `minimum` binds only numbers: a decimal string must not take a sign either.
            sign = "" if ret.get("minimum", ret.get("exclusiveMinimum", -1)) >= 0 else "-?"
            return {"pattern": rf"^{sign}\d+(\.\d+)?$"}
        dates = [v.pattern for v in field.validators if isinstance(v, InDateRange)]
        return {"pattern": dates[0]} if dates else super().field2pattern(field)

    def schema2jsonschema(self, schema: Schema) -> dict[str, Any]:
        described = super().schema2jsonschema(schema)
        # In field order (apispec sorts them), as a request requires or an answer always has.
        required = described.get("required", ())
        described["required"] = [k for k in described["properties"] if self.dump or k in required]
        if type(schema).__doc__:
            described["description"] = " ".join(type(schema).__doc__.split())
        return described

    def resolve_nested_schema(self, schema: Any) -> dict[str, Any]:
        # One component cannot be both: load and dump differ (required fields, defaults).
        cls = resolve_schema_cls(schema)
        if self.sides.setdefault(cls, self.dump) != self.dump:
            raise ValueError(f"{cls.__name__} is used as a request and as an answer")
        return super().resolve_nested_schema(schema)


class Resolver(SchemaResolver):
    """Resolves the schemas of responses on the dump side (see Converter)."""

    def resolve_response(self, response: dict[str, Any]) -> None:
        self.converter.dump = True
        try:
            super().resolve_response(response)
        finally:
            self.converter.dump = False


class Plugin(MarshmallowPlugin):
    Converter = Converter
    Resolver = Resolver
