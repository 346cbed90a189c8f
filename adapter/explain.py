"""Explain: the decision for a hypothetical ticket, a what-if (`entitlements explain`,
`POST /api/v1/explain`, the admin page's form); and a decision in words for anyone reading one
on a terminal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from adapter.contracts import Licence, contract_from_licence
from adapter.engine import Decision, TicketFacts, decide, ledger_keys
from adapter.policy import Policy
from adapter.quota import LedgerView

EXPLAIN = "explain"  # the helpdesk, customer and contract of explain's hypothetical ticket


@dataclass(frozen=True)
class ExplainQuestion:
    """A hypothetical ticket, and the contract it falls under: a customer's stored contracts
    (`customer`) or one described here (`plan`, `purchased`, ...)."""

    created: datetime
    customer: str | None = None
    plan: str | None = None
    purchased: date | None = None
    accepted: date | None = None
    go_live: date | None = None
    cancelled: date | None = None  # notice given on this day
    options: tuple[str, ...] = ()
    categories: frozenset[str] = frozenset()
    service: str | None = None
    remote_sessions: int = 0
    requester: str = "partner"
    untrained: bool = False
    used: int | None = None  # tickets already counted in the ticket's period
    language: str | None = None  # None: the LANGUAGE setting


class ExplainError(ValueError):
    """A question explain cannot answer; `fields` are the inputs at fault."""

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(message)
        self.fields = fields


def explain_ticket(
    question: ExplainQuestion,
    policy: Policy,
    open_store: Callable[[], Any],
    *,
    default_language: str,
    name: Callable[[str], str] = str,
) -> tuple[Decision, TicketFacts]:
    """The decision for a hypothetical ticket, as it would have been decided when it was
    created: the contract's term and status too are those of that day, not of today, so that
    they agree with the plan and quota the same decision shows. `open_store()` gives the store,
    called only for a customer's contracts and ledger, which are only read; `name` spells an
    input in error messages (the CLI's option names)."""
    q = question
    if bool(q.customer) == bool(q.plan):
        raise ExplainError(
            f"give either {name('customer')} or {name('plan')} with {name('purchased')}",
            "customer",
            "plan",
        )
    if q.plan and q.purchased is None:
        raise ExplainError(f"{name('plan')} needs {name('purchased')}", "purchased")
    if q.plan and q.plan not in policy.plans:
        raise ExplainError(
            f"{name('plan')}: unknown plan {q.plan!r}; known: {', '.join(policy.plans)}", "plan"
        )
    facts = TicketFacts(
        helpdesk=EXPLAIN,
        ticket_id=0,
        created_at=q.created,
        customer_number=q.customer or EXPLAIN,
        categories=q.categories,
        service=q.service,
        remote_sessions=q.remote_sessions,
        requester=q.requester,
        trained=not q.untrained,
    )
    if q.customer:
        store = open_store()
        with store.session() as session:
            contracts = store.contracts_for(session, q.customer)
            keys = ledger_keys(facts, contracts, policy)
            ledger = store.ledger_view(session, EXPLAIN, 0, keys, lock=False)
    else:
        licence = Licence(
            licence_id=EXPLAIN,
            customer_number=EXPLAIN,
            plan=q.plan or "",
            purchased_on=q.purchased or date.min,
            accepted_on=q.accepted,
            go_live_on=q.go_live,
            status="cancelled" if q.cancelled else "active",
            cancelled_on=q.cancelled,
            options=q.options,
        )
        contracts = [contract_from_licence(licence, policy.plan(licence.plan))]
        ledger = LedgerView()
    if q.used is not None:
        ledger = LedgerView(used=dict.fromkeys(ledger_keys(facts, contracts, policy), q.used))
    language = q.language or default_language
    decision = decide(facts, contracts, ledger, q.created, policy=policy, language=language)
    return decision, facts


WEEKDAYS = {
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
# A contract's status on a day, in words: explain's text and the customer statement.
CONTRACT_STATUS = {
    "de": {
        "not_started": "noch nicht begonnen",
        "active": "aktiv",
        "cancelled": "gekündigt, läuft bis Ende",
        "expired": "abgelaufen",
        "terminated": "beendet",
    },
    "en": {
        "not_started": "not yet started",
        "active": "active",
        "cancelled": "cancelled, runs to its end",
        "expired": "expired",
        "terminated": "terminated",
    },
}
LABELS = {
    "de": {
        "ticket": "Ticket",
        "explain": "Angenommenes Ticket",
        "created": "erstellt",
        "holiday": "Feiertag",
        "plan": "Plan",
        "none": "keiner",
        "contract": "Vertrag",
        "explain_contract": "Angenommener Vertrag",
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
        **CONTRACT_STATUS["de"],
    },
    "en": {
        "ticket": "Ticket",
        "explain": "Hypothetical ticket",
        "created": "created",
        "holiday": "public holiday",
        "plan": "Plan",
        "none": "none",
        "contract": "Contract",
        "explain_contract": "Hypothetical contract",
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
        **CONTRACT_STATUS["en"],
    },
}


def render_text(decision: Decision, facts: TicketFacts, policy: Policy, language: str) -> str:
    """The decision in words, every word in `language`: labels, weekdays, the plan's name, and
    each flag and warning by its label (its code is in the decision shape)."""
    t = LABELS[language]
    tz = policy.calendar.time_zone

    def local(at: datetime) -> str:
        at = at.astimezone(tz)
        return f"{WEEKDAYS[language][at.weekday()]} {at:%Y-%m-%d %H:%M %Z}"

    def label(code: str) -> str:
        texts = policy.flags.get(code) or policy.warnings.get(code)
        return texts.label.get(language, code) if texts else code

    plan = policy.plans[decision.plan].name[language] if decision.plan else t["none"]
    ticket = (
        t["explain"]
        if decision.helpdesk == EXPLAIN
        else f"{t['ticket']} {decision.helpdesk} #{decision.ticket_id}"
    )
    created = f"{ticket}, {t['created']} {local(facts.created_at)}"
    holiday = policy.calendar.holiday_name(facts.created_at.astimezone(tz).date(), language)
    if holiday:
        created += f" ({t['holiday']}: {holiday})"
    lines = [created, f"{t['plan']}: {plan}"]
    if c := decision.contract:
        notice = f", {t['notice']} {c.notice_by}" if c.notice_by else ""
        described = c.id == EXPLAIN and facts.customer_number == EXPLAIN  # not a stored one
        contract = t["explain_contract"] if described else f"{t['contract']} {c.id}"
        lines.append(
            f"{contract}: {t['valid']} {c.valid_from} – {c.valid_until}{notice}"
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
            lines.extend(f"  - {label(item.code)}: {item.message}" for item in items)
    return "\n".join(lines)
