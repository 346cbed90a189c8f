"""Deciding one ticket and recording the decision: the one path of the worker and of replay.

`decide_ticket` reads what a decision needs (the customer's contracts, the ledger, the ticket's
last decision) and decides, writing nothing; `record` applies the ledger changes, appends the
decision with its inputs (the audit trail) and, if it differs from the last one, queues the
write-back. Both work in the caller's transaction, so a decision, its ledger changes and its
outbox row commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from adapter.billing import work_of
from adapter.contracts import Contract
from adapter.engine import Decision, TicketFacts, decide, ledger_keys, substance
from adapter.oncall import covers
from adapter.policy import Policy
from adapter.providers import Helpdesk
from adapter.quota import LedgerView
from adapter.store import Store, jsonable
from adapter.store.queue import Claimed


@dataclass(frozen=True)
class DecisionInputs:
    """What a decision was made from, as the audit trail keeps it. `inbox` or `replay` says
    what asked for it: the inbox row, or a replay ("api", "cli")."""

    facts: TicketFacts
    contracts: tuple[Contract, ...]
    ledger: LedgerView
    now: datetime
    policy: str  # the digest of the policy file
    inbox: int | None = None
    replay: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = jsonable(self)
        # `used` is keyed by (contract, period), so jsonable writes it as a list of pairs; but
        # an empty mapping has no keys to tell by, and came out as {} (no contract, no counts).
        data["ledger"]["used"] = [
            {"key": list(key), "value": n} for key, n in self.ledger.used.items()
        ]
        return {k: v for k, v in data.items() if v is not None or k not in ("inbox", "replay")}


@dataclass(frozen=True)
class Decided:
    decision: Decision
    inputs: DecisionInputs
    previous: dict[str, Any] | None  # the ticket's last stored decision, in the decision shape

    @property
    def changed(self) -> bool:
        """The same test `Store.record_decision` applies."""
        return self.previous != jsonable(self.decision.to_dict())


def decide_ticket(
    store: Store,
    session: Session,
    policy: Policy,
    helpdesk: Helpdesk,
    facts: TicketFacts,
    now: datetime,
    *,
    lock: bool = True,
    pending: Mapping[tuple[str, str], int] | None = None,
    inbox: int | None = None,
    replay: str | None = None,
) -> Decided:
    """The ticket's decision under the stored contracts and ledger; writes nothing.

    `lock`: hold the contracts' counts until the transaction ends (whoever records the
    decision needs that). `pending`: counts per (contract, period) that earlier decisions of
    a dry run would have changed, added to the stored ones.
    """
    number = facts.customer_number
    contracts = tuple(store.contracts_for(session, number)) if number else ()
    if number and not facts.on_call:
        tz = policy.calendar.time_zone
        if any(covers(b, facts.created_at, tz) for b in store.bookings(session, number)):
            facts = replace(facts, on_call=True)
    ledger = store.ledger_view(
        session, helpdesk.name, facts.ticket_id, ledger_keys(facts, contracts, policy), lock=lock
    )
    if pending:
        used = {key: n + pending.get(key, 0) for key, n in ledger.used.items()}
        ledger = replace(ledger, used=used)
    inputs = DecisionInputs(facts, contracts, ledger, now, policy.digest, inbox, replay)
    decision = decide(facts, contracts, ledger, now, policy=policy, language=helpdesk.language)
    previous = store.last_decision(session, helpdesk.name, facts.ticket_id)
    return Decided(decision, inputs, previous)


def record(
    store: Store,
    session: Session,
    helpdesk: Helpdesk,
    decided: Decided,
    *,
    hold: tuple[str, datetime] | None = None,
) -> Claimed | None:
    """Apply the ledger changes, append the decision, and queue the write-back when it
    differs from the last one (with a note when it differs in substance). With `hold`, the
    write-back as `Store.add_outbox` returns it when leased to that worker."""
    decision, inputs, previous = decided.decision, decided.inputs, decided.previous
    facts, now = inputs.facts, inputs.now
    store.apply_ledger(
        session, helpdesk.name, facts.ticket_id, facts.created_at, decision.ledger, now
    )
    new_work = store.add_work(session, helpdesk.name, work_of(decision, facts), now)
    if store.record_decision(session, decision, inputs.to_json(), now, previous=previous):
        note = previous is None or substance(previous) != substance(decision.to_dict())
    elif new_work:  # same decision, more time accounted: the billable time written is stale
        note = False
    else:
        return None
    payload = helpdesk.write_back(decision, facts, note=note)
    return store.add_outbox(session, helpdesk.name, str(facts.ticket_id), payload, now, hold=hold)
