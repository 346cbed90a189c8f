"""What the web tier and the worker share: settings, policy, store and the helpdesks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from adapter.policy import Policy
from adapter.providers import Helpdesk, enabled
from adapter.settings import Settings
from adapter.store import Store, make_engine
from mappings.plans import load_policy


@dataclass
class Services:
    settings: Settings
    policy: Policy
    store: Store
    helpdesks: dict[str, Helpdesk]  # the enabled helpdesks, by provider key
    wake: threading.Event = field(default_factory=threading.Event)

    def wake_worker(self) -> None:
        """New work is in the inbox: an embedded worker need not wait for its next poll."""
        self.wake.set()


def build_services(settings: Settings, *, store: Store | None = None) -> Services:
    policy = load_policy(settings.mapping("plans.yaml"))
    store = store or Store(make_engine(settings.database_url))
    helpdesks = {
        p.key: helpdesk
        for p in enabled(settings)
        if p.helpdesk and (helpdesk := p.helpdesk(settings, policy)) is not None
    }
    return Services(settings, policy, store, helpdesks)
