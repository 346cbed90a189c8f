"""A decision in words, for `entitlements explain` and anyone reading one on a terminal."""

from __future__ import annotations

from datetime import datetime

from adapter.engine import Decision, TicketFacts
from adapter.policy import Policy

WHAT_IF = "what-if"  # the helpdesk name of explain's hypothetical ticket
WEEKDAYS = {
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
LABELS = {
    "de": {
        "ticket": "Ticket",
        "what_if": "Angenommenes Ticket",
        "created": "erstellt",
        "plan": "Plan",
        "none": "keiner",
        "contract": "Vertrag",
        "valid": "gültig",
        "notice": "Kündigung bis",
        "status": "Status",
        "quota": "Kontingent",
        "counted": "gezählt",
        "not_counted": "nicht gezählt",
        "due": "Reaktion bis",
        "billable": "Kostenpflichtig",
        "yes": "ja",
        "no": "nein",
        "reasons": "Gründe",
        "warnings": "Hinweise",
        "not_started": "noch nicht begonnen",
        "active": "aktiv",
        "cancelled": "gekündigt, läuft bis Ende",
        "expired": "abgelaufen",
        "terminated": "beendet",
    },
    "en": {
        "ticket": "Ticket",
        "what_if": "Hypothetical ticket",
        "created": "created",
        "plan": "Plan",
        "none": "none",
        "contract": "Contract",
        "valid": "valid",
        "notice": "notice by",
        "status": "status",
        "quota": "Quota",
        "counted": "counted",
        "not_counted": "not counted",
        "due": "Reaction due",
        "billable": "Billable",
        "yes": "yes",
        "no": "no",
        "reasons": "Reasons",
        "warnings": "Warnings",
        "not_started": "not yet started",
        "active": "active",
        "cancelled": "cancelled, runs to its end",
        "expired": "expired",
        "terminated": "terminated",
    },
}


def render_text(decision: Decision, facts: TicketFacts, policy: Policy, language: str) -> str:
    t = LABELS[language]
    tz = policy.calendar.time_zone

    def local(at: datetime) -> str:
        at = at.astimezone(tz)
        return f"{WEEKDAYS[language][at.weekday()]} {at:%Y-%m-%d %H:%M %Z}"

    plan = policy.plans[decision.plan].name[language] if decision.plan else t["none"]
    ticket = (
        t["what_if"]
        if decision.helpdesk == WHAT_IF
        else f"{t['ticket']} {decision.helpdesk} #{decision.ticket_id}"
    )
    lines = [f"{ticket}, {t['created']} {local(facts.created_at)}", f"{t['plan']}: {plan}"]
    if c := decision.contract:
        notice = f", {t['notice']} {c.notice_by}" if c.notice_by else ""
        lines.append(
            f"{t['contract']} {c.id}: {t['valid']} {c.valid_from} – {c.valid_until}{notice}"
            f" ({t[str(c.status)]})"
        )
    if q := decision.quota:
        lines.append(f"{t['quota']}: {q.label} ({t['counted'] if q.counted else t['not_counted']})")
    if due := decision.reaction_due:
        lines.append(f"{t['due']}: {local(due)} ({due:%Y-%m-%dT%H:%MZ})")
    lines.append(f"{t['billable']}: {t['yes'] if decision.billable else t['no']}")
    for title, items in ((t["reasons"], decision.flags), (t["warnings"], decision.warnings)):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  - {item.code}: {item.message}" for item in items)
    return "\n".join(lines)
