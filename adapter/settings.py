"""Settings: environment variables `ENTITLEMENTS_*`, optionally a YAML file named by
`ENTITLEMENTS_CONFIG` (environment wins). No secret has a default.

The core's settings are the fields below; each provider's (`ENTITLEMENTS_<KEY>_*`, e.g.
`ENTITLEMENTS_ZAMMAD_URL`) are its own object in `provider_settings`, read with `of`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

PREFIX = "ENTITLEMENTS"
# The secrets this adapter verifies (webhook secrets, push and admin tokens) are refused at
# start when shorter: short ones could be guessed. The others are ours to send.
MIN_SECRET_LENGTH = 32

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///entitlements.db"
    mappings_dir: Path | None = None  # None: the shipped mappings
    language: str = "de"
    providers: tuple[str, ...] | None = None  # the enabled providers' keys; None: every installed
    insecure_no_signature: bool = False
    max_attempts: int = 8  # write-back and inbox attempts before a row becomes a dead letter
    dead_after: int = 86400  # seconds of failing before a row becomes a dead letter
    worker_threads: int = 4  # workers per `serve` or `worker` process
    lease: int = 120  # seconds a worker holds a row; a row held by a dead worker waits this long
    reconcile_interval: int = 300  # seconds between the worker's reconcile runs; 0: never
    retention_days: int = 7  # days a processed webhook payload is kept (personal data)
    # Larger bodies are answered 413. Zammad's default payload embeds the organisation with all
    # its members and the whole article: 1.7 MB for 5,000 members and a 1 MB HTML mail.
    max_body_bytes: int = 8 * 1024 * 1024
    log_level: str = "INFO"
    metrics_port: int | None = None  # `worker`'s own /metrics port; None: not served
    metrics_host: str = "127.0.0.1"  # where that port listens; Prometheus scrapes it locally
    trusted_proxies: int = 0  # proxies in front whose X-Forwarded-For/-Proto are believed
    auth_failure_limit: int = 10  # wrong tokens per address and window before 429; 0: no limit
    auth_failure_window: int = 300  # seconds
    admin_token: str | None = field(default=None, repr=False)
    # The download platform's bearer token (GET /api/v1/customers/<number>/entitlement).
    download_token: str | None = field(default=None, repr=False)
    # Provider key -> its settings object, for the enabled providers with settings.
    provider_settings: Mapping[str, Any] = field(default_factory=dict)

    def mapping(self, name: str) -> Path | None:
        """The admin's copy of a mapping file, or None for the shipped one (also when the
        admin's directory has no such file)."""
        path = self.mappings_dir / name if self.mappings_dir else None
        return path if path is not None and path.exists() else None

    def of(self, key: str, kind: Callable[[], T]) -> T:
        """Provider `key`'s settings; `kind()`, its defaults, when none were loaded (settings
        built in code, or the provider not enabled)."""
        loaded = self.provider_settings.get(key)
        return loaded if loaded is not None else kind()
