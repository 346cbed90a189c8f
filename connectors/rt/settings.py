"""Request Tracker's settings: `ENTITLEMENTS_RT_*`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.rt.client import RtClient


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


def rt_settings(settings: Any) -> RtSettings:
    return settings.of("rt")
