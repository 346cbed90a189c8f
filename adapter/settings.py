"""Settings: environment variables `ENTITLEMENTS_*`, optionally a YAML file named by
`ENTITLEMENTS_CONFIG` (environment wins). No secret has a default."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

PREFIX = "ENTITLEMENTS"
SECRETS = ("zammad_token", "zammad_webhook_secret", "erp_push_token", "erp_token", "admin_token")
# The secrets this adapter verifies (webhook secret, ERP push and admin tokens) are refused at
# start when shorter: short ones could be guessed. The others are ours to send.
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///entitlements.db"
    mappings_dir: Path | None = None  # None: the shipped mappings
    language: str = "de"
    zammad_url: str | None = None
    erp_url: str | None = None
    insecure_no_signature: bool = False
    max_attempts: int = 8  # write-back and inbox attempts before a row becomes a dead letter
    dead_after: int = 86400  # seconds of failing before a row becomes a dead letter
    worker_threads: int = 4  # workers per `serve` or `worker` process
    lease: int = 120  # seconds a worker holds a row; a row held by a dead worker waits this long
    reconcile_interval: int = 300  # seconds between the worker's reconcile runs; 0: never
    erp_sync_interval: int = 900  # seconds between the worker's ERP pulls; 0: never
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
    zammad_token: str | None = field(default=None, repr=False)
    zammad_webhook_secret: str | None = field(default=None, repr=False)
    erp_push_token: str | None = field(default=None, repr=False)
    erp_token: str | None = field(default=None, repr=False)
    admin_token: str | None = field(default=None, repr=False)

    def mapping(self, name: str) -> Path | None:
        """The admin's copy of a mapping file, or None for the shipped one (also when the
        admin's directory has no such file)."""
        path = self.mappings_dir / name if self.mappings_dir else None
        return path if path is not None and path.exists() else None

    def redacted(self) -> dict[str, object]:
        """For logs and `check`: secrets show only whether they are set."""
        return {
            f.name: ("set" if getattr(self, f.name) else "not set")
            if f.name in SECRETS
            else getattr(self, f.name)
            for f in fields(self)
        }
