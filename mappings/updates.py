"""The answer of `GET /api/v1/customers/<customer_number>/entitlement`
(`adapter/web/entitlement_api.py`), documented from these fields in the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields


class EntitlementSchema(Schema):
    """A customer's software updates entitlement today (the calendar's day)."""

    customer = fields.String(metadata={"description": "The customer number."})
    updates = fields.Boolean(
        metadata={"description": "Whether the customer may download software updates today."}
    )
    plan = fields.String(
        allow_none=True,
        metadata={"description": "The best plan granting updates today; null: none does."},
    )
    until = fields.Date(
        allow_none=True,
        metadata={
            "description": "The last day of the current term granting updates (a renewing "
            "contract's current term); null: none does."
        },
    )
