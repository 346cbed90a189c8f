"""The ERP's settings: `ENTITLEMENTS_ERP_URL`, `_TOKEN`, `_PUSH_TOKEN` and `_PULL_INTERVAL`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from adapter.settings import Settings
from mappings.settings import SHORT_SECRET

KEY = "erp"
# The pull interval's name before "pull" became the one name for the ERP pull: still read.
DEPRECATED = {"SYNC_INTERVAL": "PULL_INTERVAL"}


@dataclass(frozen=True)
class ErpSettings:
    url: str | None = None  # the ERP's API, for the pull and the billing push
    token: str | None = field(default=None, repr=False)  # ours to send to that API
    push_token: str | None = field(default=None, repr=False)  # what the ERP sends us
    pull_interval: int = 900  # seconds between the worker's pulls; 0: never
    deprecated: tuple[str, ...] = ()  # deprecated names that were set, for `check` to warn of

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
    PULL_INTERVAL = fields.Integer(validate=validate.Range(min=0))
    SYNC_INTERVAL = fields.Integer(validate=validate.Range(min=0))  # DEPRECATED

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ErpSettings:
        deprecated = tuple(old for old in DEPRECATED if old in data)
        for old, new in DEPRECATED.items():
            value = data.pop(old, None)
            if value is not None:
                data.setdefault(new, value)  # the current name wins
        values = {k.lower(): v for k, v in data.items()}
        return ErpSettings(**values, deprecated=deprecated)


def erp_settings(settings: Settings) -> ErpSettings:
    return settings.of(KEY, ErpSettings)


def deprecated_names(settings: Settings) -> list[str]:
    """`Provider.warnings`: deprecated settings that are still set."""
    return [
        f"ERP_{old} (ENTITLEMENTS_ERP_{old}) is deprecated: name it ERP_{DEPRECATED[old]}"
        for old in erp_settings(settings).deprecated
    ]
