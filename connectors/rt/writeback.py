"""What the adapter writes onto an RT ticket, and writing it idempotently.

Custom fields and RT's own Due date are absolute values: delivering reads the ticket and
writes only what differs, so a repeat writes nothing and sets off no Scrip. The comment is
posted once: it carries a marker, and a retry looks for it first.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from adapter.engine import Decision, TicketFacts
from adapter.errors import ApiRejected
from adapter.explain import render_text
from adapter.policy import Policy
from adapter.providers import Fence
from connectors.rt.client import RtClient, rt_time
from mappings.rt import TICKET_FIELDS, RtMapping, custom_fields

MARKER = "entitlement-decision"
SUBJECT = {"de": "Vertragsprüfung", "en": "Entitlement check"}
YES_NO = {"de": ("ja", "nein"), "en": ("yes", "no")}


def payload(
    decision: Decision,
    facts: TicketFacts,
    mapping: RtMapping,
    policy: Policy,
    language: str,
    *,
    note: bool,
) -> dict[str, Any]:
    """The outbox payload for one decision: custom field values (None clears one), the Due
    date, and the comment with its marker."""
    contract = decision.contract if decision.plan else None
    yes, no = YES_NO[language]
    values = {
        "plan": policy.plan(decision.plan).name[language] if decision.plan else None,
        "valid_until": contract.valid_until.isoformat() if contract else None,
        "quota": decision.quota.label if decision.quota else None,
        "billable": yes if decision.billable else no,
        "reasons": "\n".join(
            f"{f.label}: {f.message}" for f in (*decision.flags, *decision.warnings)
        )
        or None,
    }
    names = mapping.write_back.custom_fields
    comment = None  # "note": the worker delivers a row's own note, not the newest row's
    if note and mapping.write_back.comment:
        digest = hashlib.sha256(
            json.dumps(decision.to_dict(), sort_keys=True).encode()
        ).hexdigest()[:12]
        comment = {
            "subject": f"{SUBJECT[language]} [{MARKER} {digest}]",
            "body": render_text(decision, facts, policy, language),
            "marker": digest,
        }
    due = decision.reaction_due if mapping.write_back.due else None
    return {
        "ticket_id": int(facts.ticket_id),
        "custom_fields": {names[k]: v for k, v in values.items() if k in names},
        "due": rt_time(due) if due else None,
        "note": comment,
    }


def deliver(client: RtClient, item: dict[str, Any], fence: Fence) -> list[str]:
    """Write one payload; returns what was done, empty when nothing differed. One search for
    the ticket's current values, at most one PUT, at most one comment (fenced: the only write
    that RT would apply twice)."""
    ticket_id = item["ticket_id"]
    current = _current(client, ticket_id)
    if current is None or str(current.get("EffectiveId") or ticket_id) != str(ticket_id):
        # Deleted (RT's searches never show deleted tickets) or merged into another: writing
        # to a merged ticket would write to the one it lives on in.
        return []
    have = custom_fields(current.get("CustomFields"))
    changes: dict[str, Any] = {}
    changed_fields = {k: v for k, v in item["custom_fields"].items() if have.get(k) != v}
    if changed_fields:
        changes["CustomFields"] = changed_fields
    # RT shows Due as 2026-12-02T08:00:00Z and takes it as 2026-12-02 08:00:00.
    shown = str(current.get("Due") or "").replace("T", " ").removesuffix("Z")
    if item["due"] and shown != item["due"]:
        changes["Due"] = item["due"]
    done = []
    if changes:
        messages = client.update_ticket(ticket_id, changes)
        if len(messages) < len(changed_fields) + ("Due" in changes):
            _check_written(client, ticket_id, changed_fields)
        done += [f"custom fields {', '.join(sorted(changed_fields))}"] if changed_fields else []
        done += ["due"] if "Due" in changes else []
    comment = item.get("note")
    if comment:
        fence(client.timeout_total * 3)
        if client.comment_once(ticket_id, comment["subject"], comment["body"], comment["marker"]):
            done.append("comment")
    return done


class FieldsNotWritten(ApiRejected):
    """RT answered the PUT but left custom fields as they were: it skips, without a message, a
    field not applied to the ticket's queue (RT/REST2/Util.pm update_custom_fields)."""

    def __init__(self, ticket_id: int, names: list[str]) -> None:
        super().__init__(
            f"RT did not write the custom field(s) {', '.join(names)} of ticket {ticket_id}: "
            "they are not applied to its queue. Apply them (docs/rt.md, set-up step 4: load "
            "the initialdata file of `entitlements setup-rt` again), then retry this dead letter."
        )
        self.names = names


def _current(client: RtClient, ticket_id: int) -> dict[str, Any] | None:
    """The ticket as a search shows it (None: deleted)."""
    return next(client.search(f"id = {ticket_id} AND EffectiveId > 0", TICKET_FIELDS), None)


def _check_written(client: RtClient, ticket_id: int, sent: dict[str, Any]) -> None:
    """RT answers one message per field it changed: with fewer, read what it kept."""
    have = custom_fields((_current(client, ticket_id) or {}).get("CustomFields"))
    if kept := sorted(k for k, v in sent.items() if have.get(k) != v):
        raise FieldsNotWritten(ticket_id, kept)
