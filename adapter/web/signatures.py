"""Shared-secret checks, all in constant time, on bytes: `hmac.compare_digest` refuses str
with non-ASCII characters, and a header may carry any byte (WSGI gives it as latin-1 text)."""

from __future__ import annotations

import hashlib
import hmac


def hub_signature(secret: str, body: bytes) -> str:
    """Zammad's `X-Hub-Signature`: `sha1=` + hex HMAC-SHA1 of the raw body."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def valid_hub_signature(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and same_secret(hub_signature(secret, body), header.strip())


def valid_bearer(token: str, header: str | None) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and same_secret(token, given.strip())


def same_secret(expected: str, given: str) -> bool:
    return hmac.compare_digest(_bytes(expected), _bytes(given))


def _bytes(text: str) -> bytes:
    # surrogatepass: a lone surrogate (from a server that decodes with surrogateescape)
    # compares unequal instead of raising.
    return text.encode("utf-8", "surrogatepass")
