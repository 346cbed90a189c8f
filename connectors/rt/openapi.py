"""Request Tracker's part of the OpenAPI document: `POST /webhooks/rt` (`webhooks/rt.py`), the
Scrip that `entitlements setup-rt` writes, and its signature."""

from __future__ import annotations

from apispec import APISpec
from flask import Flask

from adapter.web.openapi import hub_signature_scheme, problem


def paths(spec: APISpec, app: Flask) -> None:
    """Adds RT's webhook to `spec` (`Provider.openapi`)."""
    hub_signature_scheme(spec, "rtSignature", "ENTITLEMENTS_RT_WEBHOOK_SECRET")
    spec.path("/webhooks/rt", operations=WEBHOOK)


WEBHOOK = {
    "post": {
        "operationId": "rtWebhook",
        "summary": "Request Tracker's Scrip: a ticket created or changed",
        "description": "Posted by the Scrip of `entitlements setup-rt`, once per ticket and "
        "request; `X-RT-Delivery` deduplicates. Names the ticket (and, for a merge, the merged "
        "ticket in its transactions); the worker reads the rest from RT's REST 2 API.",
        "security": [{"rtSignature": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["event", "ticket_id"],
                        "properties": {
                            "event": {"type": "string", "enum": ["create", "update"]},
                            "ticket_id": {"type": "integer", "minimum": 1},
                            "actor": {"type": ["string", "null"]},
                            "transactions": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                }
            },
        },
        "responses": {
            "202": {"description": "Accepted into the inbox"},
            "200": {"description": "A duplicate delivery"},
            "400": problem("The body is empty or not JSON"),
            "401": problem("Signature missing or wrong"),
            "413": problem("The body is over MAX_BODY_BYTES (default 8 MiB)"),
            "415": problem("Content-Type is not application/json"),
            "422": problem("Not the Scrip's body"),
            "503": problem("Request Tracker is not configured here"),
        },
    }
}
