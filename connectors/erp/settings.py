"""The ERP's settings: `ENTITLEMENTS_ERP_URL`, `_TOKEN`, `_PUSH_TOKEN` and `_SYNC_INTERVAL`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from adapter.settings import Settings
from mappings.settings import SHORT_SECRET

KEY = "erp"


@dataclass(frozen=True)
class ErpSettings:
    url: str | None = None  # the ERP's API, for the pull and the billing push
    token: str | None = field(default=None, repr=False)  # ours to send to that API
    push_token: str | None = field(default=None, repr=False)  # what the ERP sends us
    sync_interval: int = 900  # seconds between the worker's pulls; 0: never

    def unset(self) -> list[str]:
        """What calling the ERP's API needs and is not set."""
        return [f"ENTITLEMENTS_ERP_{n.upper()}" for n in ("url", "token") if not getattr(self, n)]


class ErpSettingsSchema(Schema):
    """The keys without their `ERP_` prefix."""

    class Meta:
        unknown = EXCLUDE

    URL = fields.Url(require_tld=False)
    TOKEN = fields.String(validate=validate.Length(min=1))
    PUSH_TOKEN = fields.String(validate=SHORT_SECRET)  # the secret we verify
    SYNC_INTERVAL = fields.Integer(validate=validate.Range(min=0))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ErpSettings:
        return ErpSettings(**{k.lower(): v for k, v in data.items()})


def erp_settings(settings: Settings) -> ErpSettings:
    return settings.of(KEY, ErpSettings)
