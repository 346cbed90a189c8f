"""`POST /webhooks/zammad`: Zammad's trigger webhooks into the inbox.

Verifies `X-Hub-Signature` over the raw body, validates the payload, and stores it with its
`X-Zammad-Delivery` id in one transaction. Makes no outbound call: the worker does the rest.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from adapter import metrics
from adapter.web.errors import ApiProblem
from connectors.zammad.settings import zammad_settings
from mappings.yamlfile import flatten_messages
from mappings.zammad import HELPDESK, load_webhook, ticket_reference
from webhooks.inbound import delivery_key, printable, signed_json

logger = logging.getLogger(__name__)
bp = Blueprint(HELPDESK, __name__, url_prefix="/webhooks")


@bp.post("/zammad")
def receive() -> ResponseReturnValue:
    services = current_app.extensions["entitlements"]
    # Zammad sends a payload that renders to {} as a POST without body and without signature
    # (lib/user_agent.rb set_params, set_signature): nothing to trust or act on.
    body, text, data = signed_json(
        HELPDESK,
        zammad_settings(services.settings).webhook_secret,
        empty="the body is empty: Zammad sends no body (and no signature) for a webhook payload "
        "that renders to {}; give the webhook a payload that names the ticket, such as "
        "Zammad's default payload",
    )
    # With Zammad's API at hand, a payload needs only to name its ticket (a custom or
    # pre-defined payload): the worker reads the rest. Without, it must be the default payload.
    ticket_id = ticket_reference(data) if services.helpdesks[HELPDESK].client else None
    if ticket_id is None:
        try:
            ticket_id = load_webhook(data).ticket.id
        except ValidationError as e:
            fields = {".".join(map(str, p)): m for p, m in flatten_messages(e.messages)}
            raise ApiProblem(
                422, "invalid_payload", "the payload is not Zammad's ticket webhook", fields
            ) from e
    # Zammad keeps one delivery id across its retries; without one, the body itself is the key.
    delivery = delivery_key(request.headers.get("X-Zammad-Delivery"), body)
    store = services.store
    with store.session() as session:
        stored = store.accept_inbox(
            session,
            helpdesk=HELPDESK,
            delivery_id=delivery,
            ticket_id=str(ticket_id),
            trigger=printable(request.headers.get("X-Zammad-Trigger") or "")[:255] or None,
            payload=text,
            now=datetime.now(UTC),
            body_digest=hashlib.sha256(body).hexdigest(),
        )
    extra = {"delivery_id": delivery, "ticket_id": ticket_id}
    if not stored:
        logger.info("zammad.webhook.duplicate", extra=extra)
        metrics.count_webhook(HELPDESK, "duplicate")
        return {"status": "duplicate"}, 200
    logger.info("zammad.webhook.accepted", extra=extra)
    metrics.count_webhook(HELPDESK, "accepted")
    services.wake_worker()
    return {"status": "accepted"}, 202
