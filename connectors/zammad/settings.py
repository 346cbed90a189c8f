"""Zammad's settings: `ENTITLEMENTS_ZAMMAD_URL`, `_TOKEN` and `_WEBHOOK_SECRET`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from adapter.settings import Settings
from mappings.settings import SHORT_SECRET
from mappings.zammad import HELPDESK


@dataclass(frozen=True)
class ZammadSettings:
    url: str | None = None
    token: str | None = field(default=None, repr=False)  # an API token of the integration user
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def connected(self) -> bool:
        """Zammad's API can be called."""
        return bool(self.url and self.token)


class ZammadSettingsSchema(Schema):
    """The keys without their `ZAMMAD_` prefix."""

    class Meta:
        unknown = EXCLUDE

    URL = fields.Url(require_tld=False)
    TOKEN = fields.String(validate=validate.Length(min=1))
    WEBHOOK_SECRET = fields.String(validate=SHORT_SECRET)  # the secret we verify

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ZammadSettings:
        return ZammadSettings(**{k.lower(): v for k, v in data.items()})


def zammad_settings(settings: Settings) -> ZammadSettings:
    return settings.of(HELPDESK, ZammadSettings)


def unsigned_webhooks(settings: Settings) -> list[str]:
    """`Provider.problems`: without a secret, anyone could post tickets into the inbox."""
    if zammad_settings(settings).webhook_secret or settings.insecure_no_signature:
        return []
    return [
        "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET is not set: webhooks could not be verified "
        "(set ENTITLEMENTS_INSECURE_NO_SIGNATURE=1 only for a local trial)"
    ]
