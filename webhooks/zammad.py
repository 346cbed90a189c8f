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
from adapter.limits import UnacceptableJson, loads
from adapter.web.errors import ApiProblem, refused_json
from adapter.web.signatures import valid_hub_signature
from connectors.zammad.settings import zammad_settings
from mappings.yamlfile import flatten_messages
from mappings.zammad import HELPDESK, load_webhook, ticket_reference

logger = logging.getLogger(__name__)
bp = Blueprint(HELPDESK, __name__, url_prefix="/webhooks")


@bp.post("/zammad")
def receive() -> ResponseReturnValue:
    services = current_app.extensions["entitlements"]
    if request.mimetype != "application/json":
        raise ApiProblem(415, "unsupported_media_type", "send Content-Type: application/json")
    body = request.get_data(cache=False)  # 413 past MAX_CONTENT_LENGTH
    if not body:
        # Zammad sends a payload that renders to {} as a POST without body and without
        # signature (lib/user_agent.rb set_params, set_signature): nothing to trust or act on.
        raise ApiProblem(
            400,
            "empty_body",
            "the body is empty: Zammad sends no body (and no signature) for a webhook payload "
            "that renders to {}; give the webhook a payload that names the ticket, such as "
            "Zammad's default payload",
        )
    secret = zammad_settings(services.settings).webhook_secret
    if secret and not valid_hub_signature(secret, body, request.headers.get("X-Hub-Signature")):
        logger.warning("zammad.webhook.invalid-signature", extra={"remote": request.remote_addr})
        raise ApiProblem(
            401, "invalid_signature", "X-Hub-Signature is missing or does not match the body"
        )
    try:
        # UTF-8 only (RFC 8259): the inbox keeps the body as text. json.loads would also take
        # UTF-16/32 bytes, which the decode for the inbox would then fail on (a 500).
        text = body.decode("utf-8")
        data = loads(text)
    except UnacceptableJson as e:
        raise refused_json(e) from e
    except ValueError as e:  # UnicodeDecodeError included
        raise ApiProblem(400, "invalid_json", f"the body is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise ApiProblem(400, "invalid_json", "the body must be a JSON object")
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
    # Zammad's ids are UUIDs; anything longer than the column, or not printable ASCII (a NUL
    # cannot be stored in PostgreSQL), is keyed by its hash.
    given = request.headers.get("X-Zammad-Delivery")
    if given and len(given) <= 120 and given.isascii() and given.isprintable():
        delivery = given
    else:
        delivery = _digest(given.encode("utf-8", "surrogatepass") if given else body)
    store = services.store
    with store.session() as session:
        stored = store.accept_inbox(
            session,
            helpdesk=HELPDESK,
            delivery_id=delivery,
            ticket_id=str(ticket_id),
            trigger=_printable(request.headers.get("X-Zammad-Trigger") or "")[:255] or None,
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


def _printable(header: str) -> str:
    """A header as text for the record: control characters out (PostgreSQL refuses NUL)."""
    return "".join(c for c in header if c.isprintable())


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
