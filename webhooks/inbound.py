"""What every signed helpdesk webhook checks before it looks at the payload: JSON content
type, a body, the `X-Hub-Signature` over the raw bytes, UTF-8 JSON, an object."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import request

from adapter.limits import UnacceptableJson, loads
from adapter.web.errors import ApiProblem, refused_json
from adapter.web.signatures import valid_hub_signature

logger = logging.getLogger(__name__)


def signed_json(
    sender: str, secret: str | None, empty: str = "the body is empty"
) -> tuple[bytes, str, dict[str, Any]]:
    """The raw body, its text and its JSON object; ApiProblem (4xx) for anything else.
    `secret` None: not checked (ENTITLEMENTS_INSECURE_NO_SIGNATURE)."""
    if request.mimetype != "application/json":
        raise ApiProblem(415, "unsupported_media_type", "send Content-Type: application/json")
    body = request.get_data(cache=False)  # 413 past MAX_CONTENT_LENGTH
    if not body:
        raise ApiProblem(400, "empty_body", empty)
    if secret and not valid_hub_signature(secret, body, request.headers.get("X-Hub-Signature")):
        logger.warning(f"{sender}.webhook.invalid-signature", extra={"remote": request.remote_addr})
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
    return body, text, data


def delivery_key(given: str | None, body: bytes) -> str:
    """The sender's delivery id as the inbox key; without one, or one that does not fit the
    column or is not printable ASCII (PostgreSQL cannot store a NUL), a hash."""
    if given and len(given) <= 120 and given.isascii() and given.isprintable():
        return given
    return digest(given.encode("utf-8", "surrogatepass") if given else body)


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def printable(header: str) -> str:
    """A header as text for the record: control characters out (PostgreSQL refuses NUL)."""
    return "".join(c for c in header if c.isprintable())
