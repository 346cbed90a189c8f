"""Helpers for the RT tests: settings with RT configured, Scrip bodies signed as the Scrip signs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapter.settings import Settings
from adapter.web.signatures import hub_signature
from connectors.rt.settings import RtSettings
from tests.rt_rig import RTServer, free_port

FIXTURES = Path(__file__).parent / "fixtures" / "rt"
SECRET = "rt-test-webhook-secret-of-32-characters"

__all__ = ["FIXTURES", "SECRET", "adapter_settings", "fixture_names", "free_port", "signed"]


def adapter_settings(
    database_url: str,
    rt: RTServer | None = None,
    secret: str = SECRET,
    user: tuple[str, str] | None = None,
) -> Settings:
    """An installation with Request Tracker alone (no Zammad setting at all), as `user` (name,
    password; default RT's root). Without a real RT the URL names a closed port: the webhook
    itself never calls RT."""
    name, password = user or ((rt.user, rt.password) if rt else ("root", "password"))
    rt_settings = RtSettings(
        url=rt.base_url if rt else "http://127.0.0.1:9",
        user=name,
        password=password,
        webhook_secret=secret,
    )
    return Settings(
        database_url=database_url,
        language="en",
        reconcile_interval=0,
        providers=("rt",),
        provider_settings={"rt": rt_settings},
    )


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def signed(
    payload: dict[str, Any], secret: str = SECRET, delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers as the Scrip sends them (Perl's JSON, canonical, UTF-8)."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "RT-Entitlements-Webhook/1",
        "X-RT-Delivery": delivery
        or f"rt-{payload.get('ticket_id')}-{payload.get('transaction_id')}",
        "X-Hub-Signature": hub_signature(secret, body),
    }
    return body, headers
