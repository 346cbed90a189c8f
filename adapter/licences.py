"""Licences into contracts: the one path for import files, ERP pushes and ERP pulls."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapter.contracts import Licence, contract_from_licence
from adapter.policy import Policy
from mappings.licences import read_licence_file

CUSTOMER_CHANGED = "customer_changed"  # an inbox payload: re-decide this customer's tickets


def newest(licences: Iterable[Licence]) -> list[Licence]:
    """One licence per id: the highest revision; without revisions, the last given."""
    by_id: dict[str, Licence] = {}
    for licence in licences:
        held = by_id.get(licence.licence_id)
        if held is None or (licence.revision or 0) >= (held.revision or 0):
            by_id[licence.licence_id] = licence
    return list(by_id.values())


def store_licences(
    store: Any,
    session: Any,
    policy: Policy,
    licences: Sequence[Licence],
    source: str,
    now: datetime,
    *,
    helpdesks: Iterable[str],
) -> Any:
    """Upsert licences with their contracts in the caller's transaction; returns the report.

    For every customer whose contracts changed, the same transaction queues a re-decision in
    each of `helpdesks` (the enabled ones): the customer's records and open tickets there are
    brought up to date.
    """
    items = [(lic, contract_from_licence(lic, policy.plan(lic.plan))) for lic in newest(licences)]
    report = store.upsert_licences(session, items, source=source, now=now)
    rechecks = recheck_rows(report.customers, helpdesks, "licences", now.isoformat())
    store.accept_inbox_many(session, rechecks, now)
    return report


def recheck_rows(
    customers: Iterable[str], helpdesks: Iterable[str], trigger: str, when: str
) -> list[dict[str, Any]]:
    """Inbox rows asking each helpdesk to bring a customer up to date (`customer_changed`);
    the delivery id names trigger, customer and `when`, so the same ask is stored once."""
    return [
        {
            "helpdesk": helpdesk,
            "delivery_id": f"{trigger}:{customer}:{when}",
            "ticket_id": f"customer:{customer}",
            "trigger": trigger,
            "payload": json.dumps({CUSTOMER_CHANGED: customer}),
        }
        for customer in sorted(customers)
        for helpdesk in helpdesks
    ]


def import_licences(store: Any, policy: Policy, path: Path, helpdesks: Iterable[str]) -> Any:
    """A CSV or JSON file, all or nothing: raises FileErrors before anything is written."""
    licences = read_licence_file(path, policy.plans)
    with store.session() as session:
        now = datetime.now(UTC)
        return store_licences(store, session, policy, licences, "import", now, helpdesks=helpdesks)
