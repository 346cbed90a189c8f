"""What the adapter writes onto a Zammad ticket, and writing it idempotently.

The payload is built when the decision is made and stored in the outbox; delivering it reads
the ticket first and writes only what differs, so a repeat (a retry, a replayed event) writes
nothing, and an unchanged write sets off no trigger.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from adapter.billing import billable_time, work_of
from adapter.engine import Decision, TicketFacts
from adapter.explain import render_text
from adapter.policy import Policy
from adapter.services import Fence
from connectors.zammad.client import ZammadClient
from mappings.zammad import ZammadMapping

NOTE_SUBJECT = {"de": "Vertragsprüfung", "en": "Entitlement check"}
MARKER = "entitlement-decision"


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


def deliver(client: ZammadClient, item: dict[str, Any], fence: Fence) -> list[str]:
    """Write one payload; returns what was done (for the log), empty when nothing differed.
    Fields and tags are written as absolute values, safe to repeat; the note is fenced."""
    ticket_id = item["ticket_id"]
    done: list[str] = []
    current = client.ticket(ticket_id)
    changed = {k: v for k, v in item["attributes"].items() if not _same(current.get(k), v)}
    if changed:
        client.update_ticket(ticket_id, changed)
        done.append(f"attributes {', '.join(sorted(changed))}")
    have = set(client.tags(ticket_id))
    wanted = set(item["tags"])
    for tag in sorted(wanted - have):
        client.add_tag(ticket_id, tag)
        done.append(f"+tag {tag}")
    for tag in sorted((set(item["owned_tags"]) - wanted) & have):
        client.remove_tag(ticket_id, tag)
        done.append(f"-tag {tag}")
    note = item.get("note")
    if note and client.add_note(ticket_id, note["subject"], note["body"], note["marker"], fence):
        done.append("note")
    return done


def _same(current: Any, wanted: Any) -> bool:
    """Zammad echoes values in its own forms: datetimes with milliseconds, '' for empty."""
    if current == wanted or (current in (None, "") and wanted in (None, "")):
        return True
    if isinstance(current, str) and isinstance(wanted, str):
        try:
            return _instant(current) == _instant(wanted)
        except ValueError:
            return False
    return False


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def deliver_organization(client: ZammadClient, item: dict[str, Any]) -> list[str]:
    """The organisation's plan fields, written only where they differ."""
    organization_id = item["organization_id"]
    current = client.organization(organization_id)
    changed = {k: v for k, v in item["attributes"].items() if not _same(current.get(k), v)}
    if changed:
        client.update_organization(organization_id, changed)
    return [f"organization attributes {', '.join(sorted(changed))}"] if changed else []
