"""Replay: decide stored tickets again under the current policy and contracts, and say what
would change.

Which tickets: those with a stored decision, selected by the ticket's creation time (`since`,
`until`), because that is what a decision judges (quota period, contract cover, reaction
time), and/or by customer number (as the ticket's facts gave it). Each is decided from the
facts of its latest decision (the audit trail's inputs: a ticket's facts change only through
the helpdesk, which the worker follows), with the current policy, contracts and ledger, in
creation order, so that tickets counting anew take their places in the order they came in.
Each new decision is compared with the ticket's latest one.

A dry run writes nothing: the counts that changed tickets earlier in the run would take or
give back are carried in memory, so its report is what `apply` would do. With `apply`, each
changed ticket is recorded exactly as the worker records a decision (`adapter.decisions`):
its ledger changes, the decision with its inputs, and the write-back in the outbox, one
transaction per ticket. An unchanged ticket writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from adapter.decisions import decide_ticket, record
from adapter.engine import TicketFacts
from adapter.services import Services
from adapter.store import jsonable
from adapter.store.repository import StoredDecision
from mappings.audit import load_decision_inputs

ORIGINS = ("api", "cli")


@dataclass(frozen=True)
class ReplayRequest:
    since: datetime | None = None  # tickets created at or after
    until: datetime | None = None  # and before
    customer: str | None = None
    apply: bool = False


@dataclass(frozen=True)
class Candidate:
    """A ticket to decide again: its latest stored decision and the facts it was made from."""

    stored: StoredDecision
    facts: TicketFacts


@dataclass(frozen=True)
class TicketReplay:
    helpdesk: str
    ticket_id: str
    customer_number: str | None
    created_at: datetime
    changes: tuple[str, ...]  # the fields of the decision shape that differ
    before: dict[str, Any] | None  # the latest stored decision
    decision: dict[str, Any]  # the new one
    applied: bool


@dataclass(frozen=True)
class Skipped:
    helpdesk: str
    ticket_id: str
    reason: str


@dataclass
class ReplayReport:
    request: ReplayRequest
    decided_at: datetime
    tickets: int = 0  # decided again
    changed: list[TicketReplay] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class Replay:
    def __init__(
        self, services: Services, request: ReplayRequest, *, origin: str, now: datetime
    ) -> None:
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
        self.services = services
        self.request = request
        self.origin = origin  # kept with each decision it records
        self.now = now  # one instant for the whole run: contract status as of then
        self.skipped: list[Skipped] = []

    def select(self) -> list[Candidate]:
        """The tickets to decide again, in creation order. Tickets whose helpdesk is not
        configured here, or whose stored inputs cannot be read, are reported as skipped."""
        request, store = self.request, self.services.store
        candidates = []
        with store.session() as session:
            # Creation times are in the stored facts (JSON, with the helpdesk's offsets): they
            # are compared here, as instants, rather than as strings in the database.
            for stored in store.latest_decisions(session, customer_number=request.customer):
                if stored.helpdesk not in self.services.helpdesks:
                    self._skip(stored, f"helpdesk {stored.helpdesk!r} is not configured")
                    continue
                try:
                    facts = load_decision_inputs(stored.inputs).facts
                except ValidationError as e:
                    self._skip(stored, f"stored inputs unreadable: {e.messages}")
                    continue
                created = facts.created_at
                if (request.since and created < request.since) or (
                    request.until and created >= request.until
                ):
                    continue
                candidates.append(Candidate(stored, facts))
        candidates.sort(key=lambda c: (c.facts.created_at, c.stored.id))
        return candidates

    def run(self, candidates: Iterable[Candidate]) -> ReplayReport:
        """Decide each candidate again; with `apply`, record the changed ones."""
        report = ReplayReport(self.request, self.now, skipped=self.skipped)
        pending: Counter[tuple[str, str]] = Counter()  # a dry run's count changes so far
        for candidate in candidates:
            result = self._one(candidate, pending)
            report.tickets += 1
            if result is not None:
                report.changed.append(result)
        return report

    def _one(self, candidate: Candidate, pending: Counter[tuple[str, str]]) -> TicketReplay | None:
        services, apply = self.services, self.request.apply
        store, facts = services.store, candidate.facts
        helpdesk = services.helpdesks[candidate.stored.helpdesk]
        with store.session() as session:
            decided = decide_ticket(
                store,
                session,
                services.policy,
                helpdesk,
                facts,
                self.now,
                lock=apply,
                pending=None if apply else pending,
                replay=self.origin,
            )
            if not decided.changed:
                return None
            if apply:
                record(store, session, helpdesk, decided)
        if not apply:
            for change in decided.decision.ledger:
                pending[change.contract_id, change.period] += 1 if change.action == "count" else -1
        new = jsonable(decided.decision.to_dict())
        old = decided.previous or {}
        return TicketReplay(
            helpdesk=helpdesk.name,
            ticket_id=candidate.stored.ticket_id,
            customer_number=facts.customer_number,
            created_at=facts.created_at,
            changes=tuple(k for k, v in new.items() if k != "ticket" and old.get(k) != v),
            before=decided.previous,
            decision=new,
            applied=apply,
        )

    def _skip(self, stored: StoredDecision, reason: str) -> None:
        self.skipped.append(Skipped(stored.helpdesk, stored.ticket_id, reason))


def replay(
    services: Services, request: ReplayRequest, *, origin: str, now: datetime
) -> ReplayReport:
    run = Replay(services, request, origin=origin, now=now)
    return run.run(run.select())


def describe(result: TicketReplay) -> str:
    """One line for people: `zammad #12 (C-100): billable yes → no; flags ui_building → -`."""
    before = result.before or {}
    changes = "; ".join(
        f"{name} {_brief(name, before.get(name))} → {_brief(name, result.decision.get(name))}"
        for name in result.changes
    )
    return f"{result.helpdesk} #{result.ticket_id} ({result.customer_number or '-'}): {changes}"


def _brief(name: str, value: Any) -> str:
    if value is None or value == []:
        return "-"
    if name == "billable":
        return "yes" if value else "no"
    if name in ("flags", "warnings"):
        return ",".join(f["code"] for f in value)
    if name == "quota":
        counted = "" if value["counted"] else " not counted"
        return f"{value['used']}/{value['limit']} {value['period']}{counted}"
    if name == "contract":
        return f"{value['id']} until {value['valid_until']} ({value['status']})"
    return str(value)
