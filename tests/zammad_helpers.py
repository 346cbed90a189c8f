"""Helpers for the Zammad tests: fixtures by name, and requests signed the way Zammad signs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from adapter.web.signatures import hub_signature
from connectors.zammad.settings import ZammadSettings

FIXTURES = Path(__file__).parent / "fixtures" / "zammad"
SECRET = "test-webhook-secret-of-32-characters-or-more"  # the settings want 32 or more


def signed_zammad(**more: Any) -> dict[str, ZammadSettings]:
    """`Settings.provider_settings` with Zammad's webhook secret (and `more` of its settings)."""
    return {"zammad": ZammadSettings(webhook_secret=SECRET, **more)}


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def zammad_body(payload: dict[str, Any]) -> bytes:
    """Compact JSON as Zammad's Ruby `to_json` writes it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def zammad_headers(
    body: bytes, trigger: str = "ticket_created", secret: str = SECRET, delivery: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Zammad User Agent",
        "X-Zammad-Trigger": trigger,
        "X-Zammad-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature": hub_signature(secret, body),
    }
