"""The push of billing lines to the ERP: JSON batches POSTed to `erp.yaml`'s `billing.path`.

Idempotent on both sides: every line carries its stable `line_id` (the ERP should not bill an
id twice), and a batch's ids are recorded as pushed (table `pushed_lines`) only after the ERP
answered 2xx for it, so a repeat, or a run after a failure, sends only lines not yet accepted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from adapter import errors
from adapter.providers import ProviderError
from adapter.retry import retrying
from adapter.settings import Settings
from adapter.store import Store
from connectors.erp.client import TIMEOUT, ErpNotConfigured
from connectors.erp.settings import erp_settings
from mappings.erp import ErpBilling, load_erp_mapping_for


def pause(seconds: float) -> None:
    """The wait between retries (a module attribute, so tests can replace it)."""
    time.sleep(seconds)


class BillingClient:
    """POSTs `{"lines": [...]}` with the ERP_TOKEN bearer. Retried on 5xx, 429 (after its
    Retry-After), timeouts and broken connections, a bounded number of times; other 4xx raise
    at once."""

    def __init__(
        self,
        url: str,
        token: str,
        billing: ErpBilling,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        attempts: int = 5,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/" + billing.path.lstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["Accept"] = "application/json"
        wait = sleep or (lambda seconds: pause(seconds))  # looked up late: replaceable
        self._retrying = retrying(attempts=attempts, maximum=max_wait, sleep=wait)

    @classmethod
    def from_settings(cls, settings: Settings, billing: ErpBilling, **kwargs: Any) -> BillingClient:
        erp = erp_settings(settings)
        if erp.unset():
            raise ErpNotConfigured(f"{' and '.join(erp.unset())} not set: cannot push to the ERP")
        return cls(erp.url or "", erp.token or "", billing, **kwargs)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> BillingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def post_lines(self, lines: Sequence[Mapping[str, Any]]) -> None:
        """One batch, with retries; returns once the ERP answered 2xx."""
        self._retrying(self._post_once, {"lines": list(lines)})

    def _post_once(self, body: Mapping[str, Any]) -> None:
        # The one place where this endpoint's failures become adapter.errors types.
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
            if not 200 <= response.status_code < 300:
                raise errors.from_response(response)
            response.content  # noqa: B018 - read here: a reset mid-body raises inside this try
        except errors.ApiError:
            raise
        except requests.RequestException as e:
            raise errors.from_exception(e) from e


@dataclass(frozen=True)
class PushReport:
    pushed: int
    already: int


class PushFailed(Exception):
    """A batch the ERP did not accept; the lines of earlier batches are recorded as pushed."""

    def __init__(self, error: errors.ApiError, pushed: int) -> None:
        super().__init__(f"the ERP did not accept billing lines: {error} ({pushed} line(s) pushed)")
        self.error = error
        self.pushed = pushed


def push_lines(
    store: Any,
    client: BillingClient,
    lines: Sequence[Mapping[str, Any]],
    batch_size: int,
    now: Callable[[], datetime],
) -> PushReport:
    """Push the lines not pushed yet, in batches, committing each accepted batch's ids."""
    with store.session() as session:
        done = store.pushed_lines(session, {line["line_id"] for line in lines})
    todo = [line for line in lines if line["line_id"] not in done]
    pushed = 0
    for i in range(0, len(todo), batch_size):
        batch = todo[i : i + batch_size]
        try:
            client.post_lines(batch)
        except errors.ApiError as e:
            raise PushFailed(e, pushed) from e
        with store.session() as session:
            store.mark_pushed(session, [line["line_id"] for line in batch], now())
        pushed += len(batch)
    return PushReport(pushed, len(lines) - len(todo))


def push_billing_lines(settings: Settings, store: Store, lines: list[dict[str, Any]]) -> str:
    """`entitlements billing export --push`: the lines to erp.yaml's billing endpoint; raises
    ProviderError when the ERP is not configured or did not accept a batch, and FileErrors for a
    broken erp.yaml."""
    billing = load_erp_mapping_for(settings).billing
    try:
        with BillingClient.from_settings(settings, billing) as client:
            report = push_lines(store, client, lines, billing.batch_size, lambda: datetime.now(UTC))
    except (ErpNotConfigured, PushFailed) as e:
        raise ProviderError(str(e)) from e
    return f"pushed {report.pushed} line(s), {report.already} already pushed"
