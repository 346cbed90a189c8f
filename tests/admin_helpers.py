"""Shared by the admin API, replay and admin page tests."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy import select

from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.quota import LedgerChange, period_of
from adapter.store import Store
from adapter.store.models import DecisionRow, LedgerEntryRow, OutboxRow
from mappings.plans import shipped_path

ADMIN_TOKEN = "admin-token-for-tests-only-32-chars-or-more"  # the settings want 32 or more
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOVEMBER = 2026, 11


def licence(store: Store, policy: Any, number: str, plan: str, name: str | None = None) -> None:
    """A contract for customer `number` (licence LIC-<number>, bought 10 Jan 2026)."""
    with store.session() as session:
        sold = Licence(f"LIC-{number}", number, plan, date(2026, 1, 10), customer_name=name)
        store_licences(
            store, session, policy, [sold], "import", datetime.now(UTC), helpdesks=("zammad",)
        )


def count_tickets(store: Store, policy: Any, contract: str, at: datetime, n: int) -> None:
    """`n` tickets counted on `contract` in the period of `at`."""
    period = period_of(at, "month", policy.calendar.time_zone)
    for ordinal in range(1, n + 1):
        ticket = f"{contract}-{period}-{ordinal}"
        with store.session() as session:
            change = LedgerChange("count", contract, period, ordinal)
            store.apply_ledger(session, "zammad", ticket, at, [change], at)


def policy_with_ui_building_in_basic(directory: Path) -> Path:
    """An admin's mapping directory whose plans.yaml lets basic cover building user
    interfaces (shipped: billable)."""
    text = shipped_path().read_text(encoding="utf-8")
    shipped = "ui_building: false               # Nein (kostenpflichtig)"
    assert text.count(shipped) == 1
    (directory / "plans.yaml").write_text(
        text.replace(shipped, "ui_building: true"), encoding="utf-8"
    )
    return directory


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that a decision writes: to show that something wrote nothing."""
    with store.session() as session:
        return {
            "decisions": session.execute(
                select(DecisionRow.id, DecisionRow.ticket_id, DecisionRow.decision)
            ).all(),
            "ledger": session.execute(
                select(
                    LedgerEntryRow.id,
                    LedgerEntryRow.contract_id,
                    LedgerEntryRow.ticket_id,
                    LedgerEntryRow.ordinal,
                    LedgerEntryRow.released_at,
                )
            ).all(),
            "outbox": session.execute(
                select(OutboxRow.id, OutboxRow.ticket_id, OutboxRow.status)
            ).all(),
        }


def assert_documented(document: dict[str, Any], component: str, body: Any) -> None:
    """`body` matches the OpenAPI document's schema `component`."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.Draft202012Validator(schema, format_checker=checker).validate(body)


def rig_customer(rig: Any, number: str, plan: str) -> int:
    """An organisation in Zammad with a contract, and one of its people (their user id)."""
    org = rig.zammad.add_organization(f"Org {number}", customer_number=number)
    user = rig.zammad.add_user("Pat", number, f"pat@{number.lower()}.example", organization_id=org)
    licence(rig.store, rig.services.policy, number, plan, f"Org {number}")
    return user


def rig_ticket(rig: Any, user: int, day: int, **attributes: Any) -> int:
    created = datetime(*NOVEMBER, day, 9, 30, tzinfo=UTC)
    return rig.zammad.create_ticket(f"Question {day}", user, created_at=created, **attributes)


def november(rig: Any) -> dict[str, int]:
    """C-100 (basic): plain tickets on 2 and 4 November, one about building user interfaces
    (billable under the shipped policy) on 3 November; C-200 (pro): the same on 3 November.
    Decided and written back."""
    basic, pro = rig_customer(rig, "C-100", "basic"), rig_customer(rig, "C-200", "pro")
    tickets = {
        "first": rig_ticket(rig, basic, 2),
        "ui": rig_ticket(rig, basic, 3, entitlement_category="ui_building"),
        "third": rig_ticket(rig, basic, 4),
        "pro_ui": rig_ticket(rig, pro, 3, entitlement_category="ui_building"),
    }
    rig.settle()
    assert rig.zammad.ticket(tickets["ui"])["entitlement_billable"] is True
    return tickets


def written_tickets(rig: Any) -> set[int]:
    """The tickets Zammad was asked to change (fields, tags, notes) since its requests were
    last cleared."""
    touched = set()
    for r in rig.zammad.requests:
        if r.method not in ("PUT", "POST", "DELETE"):
            continue
        body = r.body if isinstance(r.body, dict) else {}
        found = re.search(r"/tickets/(\d+)$", r.path)
        ticket = found.group(1) if found else body.get("o_id") or body.get("ticket_id")
        assert ticket is not None, f"a write to no ticket: {r.method} {r.path}"
        touched.add(int(ticket))
    return touched
