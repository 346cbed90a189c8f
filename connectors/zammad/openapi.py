"""Zammad's part of the OpenAPI document: `POST /webhooks/zammad` (`webhooks/zammad.py`) and
its signature."""

from __future__ import annotations

from apispec import APISpec
from flask import Flask

from adapter.web.openapi import hub_signature_scheme, problem


def paths(spec: APISpec, app: Flask) -> None:
    """Adds Zammad's webhook to `spec` (`Provider.openapi`)."""
    hub_signature_scheme(spec, "zammadSignature", "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET")
    spec.path("/webhooks/zammad", operations=WEBHOOK)


WEBHOOK = {
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
}
