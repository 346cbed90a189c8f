"""`POST /webhooks/rt`: the Scrip that `entitlements setup-rt` writes, into the inbox.

The Scrip posts once per ticket and request, signed like Zammad (`X-Hub-Signature: sha1=…`),
with the ticket id and the request's transactions; RT never retries it, which is why polling
exists. A merge is posted for the surviving ticket only (RT runs the Scrip on the ticket the
merged one lives on in): the merged ticket is named in the transactions, and gets its own
inbox row so that it gives its count back. Makes no outbound call: the worker reads the rest.
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
from connectors.rt.settings import rt_settings
from mappings.rt import HELPDESK, load_webhook
from mappings.yamlfile import flatten_messages
from webhooks.inbound import delivery_key, signed_json

logger = logging.getLogger(__name__)
bp = Blueprint(HELPDESK, __name__, url_prefix="/webhooks")


@bp.post("/rt")
def receive() -> ResponseReturnValue:
    services = current_app.extensions["entitlements"]
    if HELPDESK not in services.helpdesks:
        raise ApiProblem(
            503,
            "not_configured",
            "Request Tracker is not configured here: set ENTITLEMENTS_RT_URL, its credentials "
            "and ENTITLEMENTS_RT_WEBHOOK_SECRET",
        )
    body, text, data = signed_json(HELPDESK, rt_settings(services.settings).webhook_secret)
    try:
        event = load_webhook(data)
    except ValidationError as e:
        fields = {".".join(map(str, p)): m for p, m in flatten_messages(e.messages)}
        raise ApiProblem(
            422, "invalid_payload", "the payload is not the entitlements Scrip's", fields
        ) from e
    delivery = delivery_key(request.headers.get("X-RT-Delivery"), body)
    rows = [(event.ticket_id, delivery)]
    rows += [(merged, f"{delivery}:merged:{merged}") for merged in event.merged]
    store, now = services.store, datetime.now(UTC)
    with store.session() as session:
        stored = [
            store.accept_inbox(
                session,
                helpdesk=HELPDESK,
                delivery_id=key,
                ticket_id=str(ticket_id),
                trigger=event.event,
                payload=text if ticket_id == event.ticket_id else f'{{"ticket_id": {ticket_id}}}',
                now=now,
                body_digest=hashlib.sha256(body).hexdigest() if key == delivery else None,
            )
            for ticket_id, key in rows
        ]
    extra = {"delivery_id": delivery, "ticket_id": event.ticket_id}
    if not stored[0]:
        logger.info("rt.webhook.duplicate", extra=extra)
        metrics.count_webhook(HELPDESK, "duplicate")
        return {"status": "duplicate"}, 200
    logger.info("rt.webhook.accepted", extra={**extra, "merged": list(event.merged)})
    metrics.count_webhook(HELPDESK, "accepted")
    services.wake_worker()
    return {"status": "accepted"}, 202
