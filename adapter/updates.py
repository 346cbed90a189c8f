"""Software updates: whether a customer may download them today, for a download platform
(`GET /api/v1/customers/<customer_number>/entitlement`). Pure.

The datasheet's row "Software-Updates": commissioning "zeitlich begrenzt" (only during its
term), basic and pro "Ja" (while the contract runs). So updates come with every contract that
covers the day (active, or cancelled and running to its end) and whose plan grants them
(`software_updates` in plans.yaml: `during_term` or `always`): none before a contract starts or
after it ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from adapter.contracts import Contract
from adapter.engine import best_covering
from adapter.policy import Policy

GRANTING = ("during_term", "always")  # plans.yaml `software_updates` values that grant updates


@dataclass(frozen=True)
class UpdatesEntitlement:
    customer: str
    updates: bool
    plan: str | None  # the best contract granting updates today; None: none does
    until: date | None  # the last day of the longest current term granting them; None: none


def updates_entitlement(
    customer: str, contracts: Sequence[Contract], day: date, policy: Policy
) -> UpdatesEntitlement:
    """The customer's software updates entitlement on `day` (the calendar's local date)."""
    granting = [
        c
        for c in contracts
        if c.status_on(day).covers and policy.plan(c.plan).software_updates in GRANTING
    ]
    best = best_covering(granting, day, policy)
    until = max((c.end_on(day) for c in granting), default=None)
    return UpdatesEntitlement(customer, bool(granting), best.plan if best else None, until)
