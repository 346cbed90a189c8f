"""Request Tracker's settings: `ENTITLEMENTS_RT_*` (URL, TOKEN or USER and PASSWORD,
WEBHOOK_SECRET). No secret has a default."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from adapter.settings import Settings
from connectors.rt.client import RtClient
from mappings.rt import HELPDESK
from mappings.settings import SHORT_SECRET


@dataclass(frozen=True)
class RtSettings:
    url: str | None = None
    user: str | None = None
    token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.url and (self.token or (self.user and self.password)))

    def client(self) -> RtClient:
        return RtClient(self.url or "", token=self.token, user=self.user, password=self.password)


class RtSettingsSchema(Schema):
    """The keys without their `RT_` prefix."""

    class Meta:
        unknown = EXCLUDE

    URL = fields.Url(require_tld=False)
    TOKEN = fields.String(validate=validate.Length(min=1))
    USER = fields.String(validate=validate.Length(min=1))
    PASSWORD = fields.String(validate=validate.Length(min=1))
    WEBHOOK_SECRET = fields.String(validate=SHORT_SECRET)  # the secret we verify

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RtSettings:
        return RtSettings(**{k.lower(): v for k, v in data.items()})


def rt_settings(settings: Settings) -> RtSettings:
    return settings.of(HELPDESK, RtSettings)


def unsigned_webhooks(settings: Settings) -> list[str]:
    """`Provider.problems`: a configured RT without a webhook secret. (Without RT configured
    its webhook answers 503, and nothing needs a secret.)"""
    rt = rt_settings(settings)
    if not rt.url or rt.webhook_secret or settings.insecure_no_signature:
        return []
    return [
        "ENTITLEMENTS_RT_WEBHOOK_SECRET is not set: RT's webhooks could not be verified "
        "(set ENTITLEMENTS_INSECURE_NO_SIGNATURE=1 only for a local trial)"
    ]
