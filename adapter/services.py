"""What the web tier and the worker share: settings, policy, store and the helpdesks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from adapter.engine import Decision, TicketFacts
from adapter.policy import Policy
from adapter.settings import Settings
from adapter.store import Store, make_engine

Fence = Callable[[float], None]


class Helpdesk(Protocol):
    """A helpdesk's connector, as the pipeline sees it (see connectors/)."""

    name: str
    language: str

    def facts(self, payload: dict[str, Any]) -> TicketFacts:
        """An inbox payload as facts; may re-read the ticket (raises adapter.errors.ApiError)."""

    def customer_changed(
        self, customer_number: str, plan: str | None, valid_until: date | None
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
        """A customer's standing changed: outbox writes (key, payload) for its records, and
        inbox payloads (ticket id, payload) for its open tickets."""

    def write_back(self, decision: Decision, facts: TicketFacts, *, note: bool) -> dict[str, Any]:
        """The outbox payload for a changed decision; `note`: with a note about the change."""

    def deliver(self, payload: dict[str, Any], fence: Fence) -> list[str]:
        """Write one outbox payload; returns what was done. Calls `fence(seconds)` right before
        each write that the helpdesk would apply twice (a note), with how long that write may
        take: it raises if the row is no longer this worker's, and else keeps it that long."""

    def reconcile(self, store: Store, now: datetime, since: datetime | None = None) -> int:
        """Put tickets changed since the last reconcile (or `since`) into the inbox."""


@dataclass
class Services:
    settings: Settings
    policy: Policy
    store: Store
    helpdesks: dict[str, Helpdesk]
    wake: threading.Event = field(default_factory=threading.Event)

    def wake_worker(self) -> None:
        """New work is in the inbox: an embedded worker need not wait for its next poll."""
        self.wake.set()


def build_services(settings: Settings, *, store: Store | None = None) -> Services:
    from connectors import helpdesks
    from mappings.plans import load_policy

    policy = load_policy(settings.mapping("plans.yaml"))
    store = store or Store(make_engine(settings.database_url))
    return Services(settings, policy, store, helpdesks(settings, policy))
