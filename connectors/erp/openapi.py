"""The ERP's part of the OpenAPI document: `POST /erp/licences` (`webhooks/erp.py`), its bearer
token, and the Licence schema from `LicenceSchema` with this instance's plans and the products
erp.yaml maps. LicenceSchema's two conditional rules are added by hand."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from apispec import APISpec
from flask import Flask

from adapter.web.openapi import THROTTLED, problem
from mappings.licences import LicenceSchema
from webhooks.erp import mapping_of

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
    "customer_number": "The customer number, the key shared with the helpdesks.",
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

PUSH_SCHEMAS = {
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
}


def paths(spec: APISpec, app: Flask) -> None:
    """Adds the licence push to `spec` (`Provider.openapi`)."""
    plans = app.extensions["entitlements"].policy.plans
    spec.components.security_scheme(
        "erpPushToken",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "The ENTITLEMENTS_ERP_PUSH_TOKEN setting",
        },
    )
    spec.components.schema("Licence", schema=LicenceSchema(plans))
    describe_licence(spec.components.schemas["Licence"], plans, mapping_of(app).products)
    for name, schema in PUSH_SCHEMAS.items():
        spec.components.schema(name, schema)
    spec.path("/erp/licences", operations=PUSH)


PUSH = {
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
                    "application/json": {"schema": {"$ref": "#/components/schemas/PushAccepted"}}
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
            "429": THROTTLED,
            "503": problem("No ERP_PUSH_TOKEN is configured: pushes are refused"),
        },
    }
}


def describe_licence(
    schema: dict[str, Any], plans: Collection[str], products: Collection[str]
) -> None:
    """Adds to the Licence object from LicenceSchema's fields what its fields do not say: the
    plans and mapped products of this instance, and LicenceSchema.check's two rules (which a
    test compares with LicenceSchema on sample licences)."""
    for name, text in DESCRIPTIONS.items():
        schema["properties"][name]["description"] = text
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
