"""`entitlements demo`: a month of support in November 2026, end to end on loopback.

Three organisations, one per plan, open tickets in the built-in Zammad stand-in; Zammad's
signed webhooks reach the adapter, the worker decides and writes back, and the demo prints what
an agent sees on each ticket, read back from Zammad.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import requests

from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.settings import Settings
from standins.rig import Rig

BERLIN = ZoneInfo("Europe/Berlin")

LICENCES = [
    Licence(
        "LIC-1001",
        "C-1001",
        "commissioning",
        date(2026, 10, 20),
        revision=1,
        customer_name="Alpha Automation GmbH",
        accepted_on=date(2026, 11, 2),
    ),
    Licence(
        "LIC-1002",
        "C-1002",
        "basic",
        date(2026, 3, 15),
        revision=1,
        customer_name="Beta Systems AG",
    ),
    Licence(
        "LIC-1003", "C-1003", "pro", date(2025, 6, 1), revision=1, customer_name="Gamma Media KG"
    ),
]


@dataclass(frozen=True)
class Scene:
    customer: str
    local: str  # Berlin wall-clock time of creation
    title: str
    attributes: dict[str, Any] = field(default_factory=dict)
    replay: bool = False  # Zammad delivers this one a second time


SCENES = [
    Scene("C-1002", "2026-11-02 10:15", "Service does not start after the update"),
    Scene("C-1001", "2026-11-03 10:00", "Commissioning: licence server not found"),
    Scene("C-1002", "2026-11-04 14:00", "Licence server unreachable", replay=True),
    Scene("C-1001", "2026-11-05 15:00", "Commissioning: second question this week"),
    Scene("C-1001", "2026-11-09 09:10", "Commissioning: touch panel stays black"),
    Scene(
        "C-1002",
        "2026-11-10 11:00",
        "Please help us build a dashboard screen",
        {"entitlement_category": "ui_building"},
    ),
    Scene("C-1002", "2026-11-12 09:30", "Crash in the scheduler module"),
    Scene(
        "C-1003",
        "2026-11-16 11:00",
        "Help with our new operator screen",
        {"entitlement_category": "ui_building"},
    ),
    Scene("C-1002", "2026-11-20 16:45", "Export fails (sent after hours)"),
    Scene(
        "C-1003", "2026-11-21 10:00", "Line stopped, urgent, on a Saturday", {"priority": "3 high"}
    ),
    Scene("C-1002", "2026-11-25 10:00", "Another crash in the scheduler module"),
    Scene(
        "C-1003",
        "2026-11-26 13:00",
        "Third remote session needed",
        {"entitlement_remote_sessions": 3},
    ),
]

LABELS = {
    "en": {
        "plan": "plan",
        "quota": "quota",
        "due": "reaction due",
        "billable": "billable",
        "yes": "yes",
        "no": "no",
        "none": "none",
        "duplicate": "Zammad sent it again",
    },
    "de": {
        "plan": "Plan",
        "quota": "Kontingent",
        "due": "Reaktion bis",
        "billable": "kostenpflichtig",
        "yes": "ja",
        "no": "nein",
        "none": "keiner",
        "duplicate": "Zammad hat es erneut gesendet",
    },
}


def run(language: str, echo: Any = click.echo) -> None:
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # no access log between the tickets
    try:
        _run(language, echo)
    finally:  # the demo runs inside other processes too (the tests): leave their logging alone
        werkzeug.setLevel(level)


def _run(language: str, echo: Any) -> None:
    started = time.monotonic()
    t = LABELS[language]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'demo.db'}", language=language)
        with Rig(settings) as rig:
            users = _customers(rig)
            echo(
                f"Zammad stand-in on {rig.zammad.url}, adapter on {rig.url}, "
                f"{len(LICENCES)} licences loaded\n"
            )
            for number, scene in enumerate(SCENES, start=1):
                created = datetime.fromisoformat(scene.local).replace(tzinfo=BERLIN)
                ticket_id = rig.zammad.create_ticket(
                    scene.title,
                    users[scene.customer],
                    created_at=created.astimezone(UTC),
                    **scene.attributes,
                )
                rig.settle()
                if scene.replay:
                    answer = _replay_last_delivery(rig)
                    rig.settle()
                org = next(
                    lic.customer_name for lic in LICENCES if lic.customer_number == scene.customer
                )
                echo(f"#{number} {created:%a %d %b %H:%M} · {org} · {scene.title}")
                for line in _agent_view(rig, ticket_id, t):
                    echo(f"    {line}")
                if scene.replay:
                    echo(f"    ({t['duplicate']}: {answer})")
    echo(f"\n{len(SCENES)} tickets in {time.monotonic() - started:.1f} s")


def _customers(rig: Rig) -> dict[str, int]:
    users = {}
    for licence in LICENCES:
        org = rig.zammad.add_organization(
            licence.customer_name or "", customer_number=licence.customer_number
        )
        users[licence.customer_number] = rig.zammad.add_user(
            "Pat",
            licence.customer_name or "",
            f"support@{licence.customer_number.lower()}.example",
            organization_id=org,
        )
    with rig.store.session() as session:
        store_licences(
            rig.store,
            session,
            rig.services.policy,
            LICENCES,
            "import",
            datetime.now(UTC),
            helpdesks=rig.services.helpdesks,
        )
    return users


def _replay_last_delivery(rig: Rig) -> str:
    delivery = [d for d in rig.zammad.deliveries if d.ok][-1]
    answer = requests.post(
        f"{rig.url}/webhooks/zammad", data=delivery.body, headers=dict(delivery.headers), timeout=10
    )
    return f"HTTP {answer.status_code} {answer.json().get('status')}"


def _agent_view(rig: Rig, ticket_id: int, t: dict[str, str]) -> list[str]:
    ticket = rig.zammad.ticket(ticket_id)
    due = ticket.get("entitlement_reaction_due")
    due_text = (
        datetime.fromisoformat(due.replace("Z", "+00:00"))
        .astimezone(BERLIN)
        .strftime("%a %d %b %H:%M")
        if due
        else "–"
    )
    lines = [
        f"{t['plan']}: {ticket.get('entitlement_plan') or t['none']} · "
        f"{t['quota']}: {ticket.get('entitlement_quota') or '–'} · {t['due']}: {due_text} · "
        f"{t['billable']}: {t['yes'] if ticket.get('entitlement_billable') else t['no']}"
    ]
    lines += (ticket.get("entitlement_reasons") or "").splitlines()
    return lines
