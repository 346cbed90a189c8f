"""What the adapter writes onto a Zammad ticket, and writing it idempotently.

The payload is built when the decision is made and stored in the outbox; delivering it reads
the ticket first and writes only what differs, so a repeat (a retry, a replayed event) writes
nothing, and an unchanged write sets off no trigger.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from adapter.billing import billable_time, work_of
from adapter.engine import Decision, TicketFacts
from adapter.explain import render_text
from adapter.policy import Policy
from adapter.providers import Fence
from connectors.zammad.client import ZammadClient, asset, assets, same_value
from mappings.zammad import ZammadMapping

NOTE_SUBJECT = {"de": "Vertragsprüfung", "en": "Entitlement check"}
MARKER = "entitlement-decision"
MARKERS = re.compile(rf"\[{MARKER} [0-9a-f]+\]")
SEEN_FOR = 30.0  # seconds a decision's view of the ticket may stand in for a read


def payload(
    decision: Decision,
    facts: TicketFacts,
    mapping: ZammadMapping,
    policy: Policy,
    language: str,
    *,
    note: bool = True,
) -> dict[str, Any]:
    """The outbox payload for one decision: attributes, the full set of tags the adapter owns
    and wants, and the internal note (with a marker so that a retry does not post it twice)."""
    names = mapping.write_back.ticket
    contract = decision.contract if decision.plan else None
    lines = [f"{f.label}: {f.message}" for f in (*decision.flags, *decision.warnings)]
    values: dict[str, Any] = {
        "plan": decision.plan,
        "valid_until": contract.valid_until.isoformat() if contract else None,
        "quota": decision.quota.label if decision.quota else None,
        "reaction_due": decision.to_dict()["reaction_due"],
        "billable": decision.billable,
        "reasons": "\n".join(lines),
        "billable_time": billable_time(work_of(decision, facts)),
    }
    tags = mapping.write_back.tags
    wanted = {tags[f.code] for f in (*decision.flags, *decision.warnings) if f.code in tags}
    if decision.billable and "billable" in tags:
        wanted.add(tags["billable"])
    digest = hashlib.sha256(json.dumps(decision.to_dict(), sort_keys=True).encode()).hexdigest()[
        :12
    ]
    change_note = None
    if note and mapping.write_back.note:
        body = render_text(decision, facts, policy, language)
        change_note = {
            "subject": NOTE_SUBJECT[language],
            "body": f"{body}\n\n[{MARKER} {digest}]",
            "marker": f"[{MARKER} {digest}]",
        }
    return {
        "ticket_id": int(facts.ticket_id),
        "attributes": {names[k]: v for k, v in values.items() if k in names},
        "tags": sorted(wanted),
        "owned_tags": sorted(set(tags.values())),
        "note": change_note,
    }


class Seen:
    """What each ticket looked like when it was last read to decide it, kept for SEEN_FOR
    seconds so that the write-back of that decision can spare reading it again; the worker
    drops it when anything of ours was written to the ticket since (adapter/worker.py)."""

    def __init__(self, keep_for: float = SEEN_FOR, most: int = 1000) -> None:
        self.keep_for = keep_for
        self.most = most
        self._by_ticket: OrderedDict[int, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, ticket_id: int, seen: dict[str, Any]) -> None:
        with self._lock:
            self._by_ticket[ticket_id] = (time.monotonic(), seen)
            self._by_ticket.move_to_end(ticket_id)
            while len(self._by_ticket) > self.most:
                self._by_ticket.popitem(last=False)

    def take(self, ticket_id: int) -> dict[str, Any] | None:
        with self._lock:
            read_at, seen = self._by_ticket.pop(ticket_id, (0.0, None))
        return seen if time.monotonic() - read_at <= self.keep_for else None


def seen(answer: dict[str, Any], ticket_id: int, names: Iterable[str]) -> dict[str, Any]:
    """From a `?all=true` answer, what a write-back compares with: the values of the attributes
    the adapter writes (`names`), the tags, and the markers of the adapter's notes."""
    ticket = asset(answer, "Ticket", ticket_id)
    return {
        "at": datetime.now(UTC).isoformat(),
        "attributes": {name: ticket.get(name) for name in names},
        "tags": sorted(answer.get("tags") or ()),
        "markers": sorted(
            {
                m
                for a in assets(answer, "TicketArticle")
                for m in MARKERS.findall(a.get("body") or "")
            }
        ),
    }


def deliver(client: ZammadClient, item: dict[str, Any], fence: Fence) -> list[str]:
    """Write one payload; returns what was done (for the log), empty when nothing differed.
    One read of the ticket with its tags and articles (none when the decision's view of it,
    `seen`, is still current), then at most one PUT carrying both the fields that differ and
    the note, unless an article has its marker; tags one call each. Fields and tags are
    absolute values, safe to repeat; the PUT is fenced."""
    ticket_id = item["ticket_id"]
    done: list[str] = []
    current = item.get("seen") or seen(client.ticket_all(ticket_id), ticket_id, item["attributes"])
    have_values = current["attributes"]
    changed = {k: v for k, v in item["attributes"].items() if not same_value(have_values.get(k), v)}
    note = item.get("note")
    if note and note["marker"] in current["markers"]:
        note = None
    if changed or note:
        client.update_ticket(ticket_id, changed, note, fence)
        if changed:
            done.append(f"attributes {', '.join(sorted(changed))}")
        if note:
            done.append("note")
    have = set(current["tags"])
    wanted = set(item["tags"])
    for tag in sorted(wanted - have):
        client.add_tag(ticket_id, tag)
        done.append(f"+tag {tag}")
    for tag in sorted((set(item["owned_tags"]) - wanted) & have):
        client.remove_tag(ticket_id, tag)
        done.append(f"-tag {tag}")
    return done


def deliver_organization(client: ZammadClient, item: dict[str, Any]) -> list[str]:
    """The organisation's plan fields, written only where they differ."""
    organization_id = item["organization_id"]
    current = client.organization(organization_id)
    changed = {k: v for k, v in item["attributes"].items() if not same_value(current.get(k), v)}
    if changed:
        client.update_organization(organization_id, changed)
    return [f"organization attributes {', '.join(sorted(changed))}"] if changed else []
