"""`GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the HTTP API.

The Licence schema is generated from `LicenceSchema`'s fields, and every admin API schema
from those of `mappings.admin` (nested schemas become components), so none can drift from
what the endpoints accept and answer. A field type the converter does not know raises, rather
than being described loosely. (apispec could do the conversion, but it would be a dependency
for this one document, and the plan enum and conditional rules below would still be written
by hand.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, missing, validate

from mappings import admin
from mappings.bounds import InDateRange
from mappings.licences import LicenceSchema
from webhooks import erp

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")
DOCUMENT = "entitlements.openapi"  # app.extensions key: built once per app
OPENAPI_VERSION = "3.1.0"

LICENCE_EXAMPLE = {
    "licence_id": "LIC-1001",
    "revision": 3,
    "customer_number": "C-100",
    "customer_name": "Awesome Customer Inc.",
    "product": "SP-PRO-10",
    "purchased_on": "2026-03-15",
    "accepted_on": None,
    "go_live_on": None,
    "list_price": "12000.00",
    "currency": "EUR",
    "status": "active",
    "cancelled_on": None,
    "options": ["third_party_projects"],
}

DESCRIPTIONS = {
    "licence_id": "The ERP's licence id; the key of the licence and of its support contract.",
    "revision": "A higher revision replaces a lower one; a lower one is ignored (stale). "
    "Without revisions, a later push replaces an earlier one.",
    "customer_number": "The customer number shared with the helpdesk's organisations.",
    "plan": "The support plan. May be left out when erp.yaml maps `product` to a plan.",
    "product": "The ERP's product code; erp.yaml maps product codes to plans.",
    "purchased_on": "Purchase date: the contract starts on it.",
    "accepted_on": "Acceptance date (commissioning support ends 8 weeks after the latest "
    "of purchase, acceptance and go-live).",
    "go_live_on": "Go-live date.",
    "list_price": "List price, two decimal places; a string keeps it exact.",
    "currency": "ISO 4217 code.",
    "status": "active; cancelled: notice given, the term runs to its end; terminated: "
    "ends at cancelled_on.",
    "cancelled_on": "Date of the notice (cancelled) or of the end (terminated); "
    "required with those statuses.",
    "options": "Booked options.",
}


@bp.get("/openapi.json")
def document() -> ResponseReturnValue:
    # Public: it describes the API, it holds no data.
    extensions = current_app.extensions
    if DOCUMENT not in extensions:
        plans = extensions["entitlements"].policy.plans
        extensions[DOCUMENT] = openapi_document(plans, erp.mapping_of(current_app).products)
    return extensions[DOCUMENT]


def openapi_document(plans: Collection[str], products: Collection[str]) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}

    def problem(text: str) -> dict[str, Any]:
        return {"description": text, "content": {"application/json": {"schema": error}}}

    throttled = {
        **problem(
            "Too many wrong tokens from this address: every attempt is refused until "
            "`Retry-After` seconds have passed"
        ),
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
    }
    licence = licence_json_schema(plans, products)
    components = Components()
    admin_paths = admin_api_paths(components, plans, problem, throttled)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "helpdesk-entitlements",
            "version": "1",
            "description": "Support-contract entitlements on helpdesk tickets: licences "
            "from the ERP in, Zammad ticket webhooks in, and the admin API. Every error body is "
            '`{"error": CODE, "message": TEXT, "fields": {...}}`.',
        },
        "paths": {
            "/erp/licences": {
                "post": {
                    "operationId": "pushLicences",
                    "summary": "The ERP pushes one licence or a batch",
                    "description": "All items are validated first; if any is invalid, "
                    "nothing is stored (422). Otherwise all are stored in one transaction. "
                    "Idempotent by licence id and revision.",
                    "security": [{"erpPushToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Licence"},
                                        {"$ref": "#/components/schemas/LicenceBatch"},
                                    ]
                                },
                                "examples": {
                                    "one": {"value": LICENCE_EXAMPLE},
                                    "batch": {"value": {"licences": [LICENCE_EXAMPLE]}},
                                },
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Stored (or unchanged): what the push did",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/PushAccepted"}
                                }
                            },
                        },
                        "400": problem("The body is not JSON"),
                        "401": problem("Bearer token missing or wrong"),
                        "413": problem("The body is over MAX_BODY_BYTES (default 8 MiB)"),
                        "415": problem("Content-Type is not application/json"),
                        "422": problem(
                            "Invalid licences; `fields` is keyed by item and field, e.g. "
                            "`licences[3].purchased_on` (or `purchased_on` for one licence)"
                        ),
                        "429": throttled,
                        "503": problem("No ERP_PUSH_TOKEN is configured: pushes are refused"),
                    },
                }
            },
            "/webhooks/zammad": {
                "post": {
                    "operationId": "zammadWebhook",
                    "summary": "Zammad's trigger webhook (ticket and article)",
                    "description": "Signed with `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the "
                    "raw body>`; `X-Zammad-Delivery` deduplicates retries. Stored in the "
                    "inbox; the worker decides and writes back.",
                    "security": [{"zammadSignature": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "202": {"description": "Accepted into the inbox"},
                        "200": {"description": "A duplicate delivery, or an ignored event"},
                        "400": problem("The body is not JSON"),
                        "401": problem("Signature missing or wrong"),
                        "413": problem("The body is over MAX_BODY_BYTES (default 8 MiB)"),
                        "415": problem("Content-Type is not application/json"),
                        "422": problem("Not Zammad's ticket webhook payload"),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {"200": {"description": "The OpenAPI document"}},
                }
            },
            **admin_paths,
        },
        "components": {
            "securitySchemes": {
                "erpPushToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The ENTITLEMENTS_ERP_PUSH_TOKEN setting",
                },
                "zammadSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Hub-Signature",
                    "description": "sha1=<hex HMAC-SHA1 of the raw body with "
                    "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET>",
                },
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The ENTITLEMENTS_ADMIN_TOKEN setting",
                },
            },
            "schemas": {
                **components.schemas,
                "Licence": licence,
                "LicenceBatch": {
                    "type": "object",
                    "required": ["licences"],
                    "properties": {
                        "licences": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Licence"},
                        }
                    },
                    "additionalProperties": False,
                },
                "PushAccepted": {
                    "type": "object",
                    "required": ["status", "created", "updated", "unchanged", "stale"],
                    "properties": {
                        "status": {"const": "accepted"},
                        **{
                            name: {"type": "integer", "minimum": 0}
                            for name in ("created", "updated", "unchanged", "stale")
                        },
                        "conflicts": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Licences sent again with their stored revision "
                            "but other content: left as stored",
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "message", "fields"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
            },
        },
    }


EXPLAIN_EXAMPLE = {
    "plan": "basic",
    "purchased": "2026-03-15",
    "created": "2026-11-27T17:30:00+01:00",
    "used": 4,
    "language": "en",
}


def admin_api_paths(
    components: Components, plans: Collection[str], problem: Any, throttled: dict[str, Any]
) -> dict[str, Any]:
    """The admin API (`webhooks/admin.py`), its schemas from `mappings.admin`."""

    def answer(schema: Schema, text: str) -> dict[str, Any]:
        return {
            "description": text,
            "content": {"application/json": {"schema": components.ref(schema, dump=True)}},
        }

    def body(schema: Schema, **more: Any) -> dict[str, Any]:
        media = {"schema": components.ref(schema, dump=False), **more}
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
            "429": throttled,
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

    periods = query_parameters(admin.OrganisationsQuerySchema(), components)
    body_errors = {
        "400": problem("The body is not a JSON object"),
        "415": problem("Content-Type is not application/json"),
    }
    return {
        "/api/v1/organisations": {
            "get": operation(
                "listOrganisations",
                "Customers with their contracts and quota use per period",
                "Every customer number with contracts; for each contract its current term and "
                "status, and the tickets counted in the current and earlier periods.",
                parameters=periods,
                responses={
                    "200": answer(admin.OrganisationsSchema(), "The organisations"),
                    "422": problem("A bad query parameter"),
                },
            )
        },
        "/api/v1/organisations/{customer_number}": {
            "get": operation(
                "getOrganisation",
                "One customer with its contracts and quota use",
                "As in the list, for one customer number.",
                parameters=[path("customer_number", "The customer number"), *periods],
                responses={
                    "200": answer(admin.OrganisationSchema(), "The organisation"),
                    "404": problem("No contracts for this customer number"),
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
                "What-if: the decision for a hypothetical ticket",
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
                            "application/json": {
                                "schema": components.ref(admin.DecisionSchema(), dump=True)
                            },
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
    }


def query_parameters(schema: Schema, components: Components) -> list[dict[str, Any]]:
    return [
        {
            "name": field.data_key or name,
            "in": "query",
            "required": field.required,
            "schema": field_schema(field, components),
        }
        for name, field in schema.load_fields.items()
    ]


class Components:
    """Schemas that others refer to (`$ref`), by name: the schema class without "Schema"."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}
        self._sides: dict[str, bool] = {}

    def ref(self, schema: Schema, *, dump: bool) -> dict[str, Any]:
        name = type(schema).__name__.removesuffix("Schema")
        if name not in self.schemas:
            self._sides[name] = dump
            self.schemas[name] = {}  # taken before recursing: a schema may nest itself
            self.schemas[name] = json_schema(schema, dump=dump, components=self)
        elif self._sides[name] != dump:
            # Load and dump sides differ (required fields, defaults): one name cannot be both.
            raise ValueError(f"{name} is used as a request and as an answer")
        return {"$ref": f"#/components/schemas/{name}"}


def licence_json_schema(plans: Collection[str], products: Collection[str]) -> dict[str, Any]:
    """The Licence object as JSON Schema (2020-12, as OpenAPI 3.1 uses): the fields from
    LicenceSchema, the plans and mapped products of this instance, and LicenceSchema.check's
    two rules (which a test compares with LicenceSchema on sample licences)."""
    schema = json_schema(LicenceSchema(plans), DESCRIPTIONS)
    schema["properties"]["plan"]["enum"] = [*plans, None]
    schema["description"] = (
        "A licence as the ERP sells it. `plan` or a `product` mapped in erp.yaml is needed; "
        "`cancelled_on` is needed when `status` is cancelled or terminated."
    )
    schema["allOf"] = [
        {
            "anyOf": [
                {"required": ["plan"], "properties": {"plan": {"type": "string"}}},
                {"required": ["product"], "properties": {"product": {"enum": sorted(products)}}},
            ]
        },
        {
            "if": {
                "required": ["status"],
                "properties": {"status": {"enum": ["cancelled", "terminated"]}},
            },
            "then": {
                "required": ["cancelled_on"],
                "properties": {"cancelled_on": {"type": "string"}},
            },
        },
    ]
    schema["examples"] = [LICENCE_EXAMPLE]
    return schema


def json_schema(
    schema: Schema,
    descriptions: Mapping[str, str] | None = None,
    *,
    dump: bool = False,
    components: Components | None = None,
) -> dict[str, Any]:
    """An object schema from a marshmallow schema's fields, by data key: what it loads (a
    request), or with `dump` what it dumps (an answer: every field, always). Nested schemas
    become `components` when given, else are written inline."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in (schema.dump_fields if dump else schema.load_fields).items():
        key = field.data_key or name
        described = field_schema(field, components, dump=dump)
        if descriptions and name in descriptions:
            described["description"] = descriptions[name]
        properties[key] = described
        if dump or field.required:
            required.append(key)
    described = {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }
    if type(schema).__doc__:
        described["description"] = " ".join(type(schema).__doc__.split())
    return described


_TYPES: tuple[tuple[type[fields.Field], dict[str, Any]], ...] = (
    # Subclasses before their bases: Date is a DateTime, Integer and Decimal are Numbers.
    (fields.Date, {"type": "string", "format": "date"}),
    (fields.DateTime, {"type": "string", "format": "date-time"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Decimal, {"type": ["string", "number"], "pattern": r"^-?\d+(\.\d+)?$"}),
    (fields.Float, {"type": "number"}),
    (fields.Boolean, {"type": "boolean"}),
    (fields.String, {"type": "string"}),
    (admin.TicketId, {"type": ["integer", "string"]}),
)
METADATA = ("description", "format")  # what a field's metadata may add to its schema


def field_schema(
    field: fields.Field, components: Components | None = None, *, dump: bool = False
) -> dict[str, Any]:
    described: dict[str, Any]
    if isinstance(field, fields.List):
        described = {"type": "array", "items": field_schema(field.inner, components, dump=dump)}
    elif isinstance(field, fields.Nested):
        nested = field.schema
        described = (
            components.ref(nested, dump=dump)
            if components is not None
            else json_schema(nested, dump=dump)
        )
    else:
        base = next((s for kind, s in _TYPES if isinstance(field, kind)), None)
        if base is None:
            raise TypeError(f"no JSON Schema for {type(field).__name__}: add it to _TYPES")
        described = dict(base)
    for validator in field.validators:
        described.update(_validator_schema(validator, described))
    described.update({k: v for k, v in field.metadata.items() if k in METADATA})
    if field.allow_none:
        if "$ref" in described or "properties" in described:
            described = {"anyOf": [described, {"type": "null"}]}
        else:
            kinds = described.get("type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            described["type"] = [*kinds, "null"]
            if "enum" in described:
                described["enum"] = [*described["enum"], None]
    default = field.load_default
    if not dump and default is not None and not callable(default) and default is not missing:
        described["default"] = default
    return described


def _validator_schema(validator: Any, described: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(validator, validate.OneOf):
        return {"enum": list(validator.choices)}
    if isinstance(validator, validate.Length):
        limits = {"minLength": validator.min, "maxLength": validator.max}
        if validator.equal is not None:
            limits = {"minLength": validator.equal, "maxLength": validator.equal}
        if described.get("type") == "array":
            limits = {k.replace("Length", "Items"): v for k, v in limits.items()}
        return {k: v for k, v in limits.items() if v is not None}
    if isinstance(validator, validate.Range):
        pattern = described.get("pattern", "")
        if pattern.startswith("^-?") and validator.min is not None and validator.min >= 0:
            # `minimum` only binds numbers: a decimal string must not take a sign either.
            return {"minimum": validator.min, "pattern": "^" + pattern[3:]}
        lower = "minimum" if validator.min_inclusive else "exclusiveMinimum"
        upper = "maximum" if validator.max_inclusive else "exclusiveMaximum"
        limits = {lower: validator.min, upper: validator.max}
        return {k: v for k, v in limits.items() if v is not None}
    if isinstance(validator, validate.Regexp):
        return {"pattern": validator.regex.pattern}
    if isinstance(validator, InDateRange):
        return {"pattern": validator.pattern}
    raise TypeError(f"no JSON Schema for validator {type(validator).__name__}")
