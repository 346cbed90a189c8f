"""`Store`: licences, contracts, the quota ledger and decisions, as domain objects.

Methods take the session so that a caller can put several of them in one transaction (the
decision, its ledger changes and its outbox rows commit together).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

from adapter.contracts import Contract, Licence
from adapter.engine import Decision
from adapter.fees import ListPrice
from adapter.quota import LedgerChange, LedgerEntry, LedgerView
from adapter.store.models import (
    CENT,
    SOURCES,
    ContractRow,
    DecisionRow,
    LedgerEntryRow,
    LicencePriceRow,
    LicenceRow,
)
from adapter.store.oncall import OnCallStore
from adapter.store.queue import CheckpointStore, QueueStore
from adapter.store.work import WorkStore

# Ids per IN (...) list: well below the bind-parameter limits of SQLite and PostgreSQL.
LOAD_CHUNK = 500
RELEASED = "released"  # the reason stored when a release names none

# What every decision reads and writes, built once (see adapter.store.queue).
_CONTRACTS = ContractRow.__table__
_LEDGER = LedgerEntryRow.__table__
_DECISIONS = DecisionRow.__table__
_CONTRACTS_OF = (
    select(_CONTRACTS)
    .where(_CONTRACTS.c.customer_number == bindparam("customer"))
    .order_by(_CONTRACTS.c.id)
)
_LOCK_CONTRACTS = (
    select(_CONTRACTS.c.id)
    .where(_CONTRACTS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_CONTRACTS.c.id)  # one lock order: no deadlocks
    .with_for_update()
)
_LEDGER_COUNTS = (
    select(_LEDGER.c.contract_id, _LEDGER.c.period, func.count())
    .where(
        _LEDGER.c.contract_id.in_(bindparam("contracts", expanding=True)),
        _LEDGER.c.period.in_(bindparam("periods", expanding=True)),
        _LEDGER.c.released_at.is_(None),
    )
    .group_by(_LEDGER.c.contract_id, _LEDGER.c.period)
)
_TICKET_ENTRIES = (
    select(_LEDGER)
    .where(_LEDGER.c.helpdesk == bindparam("helpdesk"), _LEDGER.c.ticket_id == bindparam("ticket"))
    .order_by(_LEDGER.c.id)
)
_TICKET_ENTRIES_LOCKED = _TICKET_ENTRIES.with_for_update()
_NEW_ENTRY = insert(_LEDGER)
# An UPDATE's parameters must not be named like its columns.
_ENTRY = (
    _LEDGER.c.contract_id == bindparam("of_contract"),
    _LEDGER.c.helpdesk == bindparam("of_helpdesk"),
    _LEDGER.c.ticket_id == bindparam("of_ticket"),
)
_COUNT_AGAIN = (
    update(_LEDGER)
    .where(*_ENTRY)
    .values(
        period=bindparam("new_period"),
        ordinal=bindparam("new_ordinal"),
        ticket_created_at=bindparam("created"),
        counted_at=bindparam("at"),
        released_at=None,
        release_reason=None,
    )
)
_RELEASE = (
    update(_LEDGER)
    .where(*_ENTRY)
    .values(released_at=bindparam("at"), release_reason=bindparam("reason"))
)
_NEW_DECISION = insert(_DECISIONS)
_LAST_DECISION = (
    select(_DECISIONS.c.decision)
    .where(
        _DECISIONS.c.helpdesk == bindparam("helpdesk"),
        _DECISIONS.c.ticket_id == bindparam("ticket"),
    )
    .order_by(_DECISIONS.c.id.desc())
    .limit(1)
)


@dataclass
class UpsertReport:
    """What `upsert_licences` did. `conflicts`: licences sent again with the revision already
    stored but different content; they were left as they were, the caller should warn."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    conflicts: list[str] = field(default_factory=list)
    customers: set[str] = field(default_factory=set)  # whose contracts were created or changed


class Store(QueueStore, CheckpointStore, OnCallStore, WorkStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Objects stay readable after commit: callers turn them into domain objects anyway.
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    # Licences and contracts

    def upsert_licences(
        self,
        session: Session,
        items: Sequence[tuple[Licence, Contract]],
        source: str,
        now: datetime,
    ) -> UpsertReport:
        """Store licences with the contracts derived from them.

        A higher revision replaces a lower one, a lower one is stale. Without a revision on
        either side the later licence replaces the stored one if anything differs. A repeat
        changes nothing, not even `updated_at`.
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        _require_aware(now, "now")
        rows = self._licence_rows(session, [licence.licence_id for licence, _ in items])
        report = UpsertReport()
        new_licences: list[dict[str, Any]] = []
        new_contracts: list[dict[str, Any]] = []
        pending: set[str] = set()
        for licence, contract in items:
            if contract.id != licence.licence_id:
                raise ValueError(f"contract {contract.id} given for licence {licence.licence_id}")
            values = _licence_values(licence)
            terms = _contract_values(contract)
            row = rows.get(licence.licence_id)
            if row is None and licence.licence_id in pending:  # a repeat within the batch
                self._insert_new(session, new_licences, new_contracts, pending)
                rows.update(self._licence_rows(session, [licence.licence_id]))
                row = rows[licence.licence_id]
            if row is None:  # new: inserted in bulk below (an initial sync brings thousands)
                pending.add(licence.licence_id)
                new_licences.append(
                    {**values, "revision": licence.revision, "source": source, "updated_at": now}
                )
                new_contracts.append({**terms, "updated_at": now})
                report.created += 1
                report.customers.add(licence.customer_number)
                continue

            old, new = row.revision, licence.revision
            same_licence = _matches(row, values)
            same_contract = row.contract is not None and _matches(row.contract, terms)
            if old is not None and new is not None and new < old:
                report.stale += 1
            elif old is not None and new == old and not same_licence:
                report.unchanged += 1
                report.conflicts.append(licence.licence_id)
            elif same_licence and same_contract and (new is None or new == old):
                report.unchanged += 1
            else:
                # Content the same but newer terms (e.g. a changed policy) keep the revision.
                revision = old if new is None and same_licence else new
                report.customers.update((row.customer_number, licence.customer_number))
                price = (values["list_price"], values["currency"])
                if (row.list_price, row.currency) != price:  # from the next support fee on
                    session.add(
                        LicencePriceRow(
                            licence_id=row.licence_id,
                            list_price=price[0],
                            currency=price[1],
                            recorded_at=now,
                        )
                    )
                _assign(row, values, revision=revision, source=source, updated_at=now)
                if row.contract is None:
                    row.contract = ContractRow(**terms, updated_at=now)
                elif not same_contract:
                    _assign(row.contract, terms, updated_at=now)
                report.updated += 1
        self._insert_new(session, new_licences, new_contracts, pending)
        session.flush()
        return report

    def _insert_new(
        self,
        session: Session,
        licences: list[dict[str, Any]],
        contracts: list[dict[str, Any]],
        pending: set[str],
    ) -> None:
        if licences:
            session.execute(insert(LicenceRow), licences)
            session.execute(insert(ContractRow), contracts)
            session.execute(
                insert(LicencePriceRow),
                [
                    {
                        "licence_id": lic["licence_id"],
                        "list_price": lic["list_price"],
                        "currency": lic["currency"],
                        "recorded_at": lic["updated_at"],
                    }
                    for lic in licences
                ],
            )
        licences.clear()
        contracts.clear()
        pending.clear()

    def _licence_rows(self, session: Session, ids: Iterable[str]) -> dict[str, LicenceRow]:
        unique = sorted(set(ids))  # one lock order: concurrent batches cannot deadlock
        rows: dict[str, LicenceRow] = {}
        for start in range(0, len(unique), LOAD_CHUNK):
            query = (
                select(LicenceRow)
                .options(joinedload(LicenceRow.contract))
                .where(LicenceRow.licence_id.in_(unique[start : start + LOAD_CHUNK]))
                .order_by(LicenceRow.licence_id)
                # Concurrent upserts of a licence must not let a lower revision win.
                .with_for_update(of=LicenceRow)
            )
            rows.update((row.licence_id, row) for row in session.scalars(query).unique())
        return rows

    def licence(self, session: Session, licence_id: str) -> Licence | None:
        row = session.get(LicenceRow, licence_id)
        return None if row is None else _licence_from_row(row)

    def list_prices(
        self, session: Session, licence_ids: Iterable[str]
    ) -> dict[str, list[ListPrice]]:
        """Each licence's list prices as they were stored, oldest first."""
        ids, found = sorted(set(licence_ids)), {}
        for start in range(0, len(ids), LOAD_CHUNK):
            query = (
                select(LicencePriceRow)
                .where(LicencePriceRow.licence_id.in_(ids[start : start + LOAD_CHUNK]))
                .order_by(LicencePriceRow.recorded_at, LicencePriceRow.id)
            )
            for row in session.scalars(query):
                found.setdefault(row.licence_id, []).append(
                    ListPrice(row.recorded_at, row.list_price, row.currency)
                )
        return found

    def contracts(self, session: Session, customer_number: str | None = None) -> list[Contract]:
        """Every contract (of a customer), by id."""
        query = select(ContractRow).order_by(ContractRow.id)
        if customer_number is not None:
            query = query.where(ContractRow.customer_number == customer_number)
        return [_contract_from_row(row) for row in session.scalars(query)]

    def contracts_for(self, session: Session, customer_number: str) -> list[Contract]:
        rows = session.execute(_CONTRACTS_OF, {"customer": customer_number})
        return [_contract_from_row(row) for row in rows]

    def customers(self, session: Session, customer_number: str | None = None) -> list[Customer]:
        """Customers that have contracts (or the one asked for), with their contracts; the
        name is the one their newest licence gives."""
        query = (
            select(ContractRow, LicenceRow.customer_name)
            .join(LicenceRow, LicenceRow.licence_id == ContractRow.id)
            .order_by(ContractRow.customer_number, LicenceRow.updated_at, ContractRow.id)
        )
        if customer_number is not None:
            query = query.where(ContractRow.customer_number == customer_number)
        customers: dict[str, Customer] = {}
        for row, name in session.execute(query):
            held = customers.setdefault(row.customer_number, Customer(row.customer_number))
            held.name = name or held.name
            held.contracts.append(_contract_from_row(row))
        for customer in customers.values():
            customer.contracts.sort(key=lambda c: c.id)
        return list(customers.values())

    # The quota ledger

    def ledger_view(
        self,
        session: Session,
        helpdesk: str,
        ticket_id: int | str,
        keys: Iterable[tuple[str, str]],
        *,
        lock: bool = True,
    ) -> LedgerView:
        """Active counts per (contract id, period) in `keys`, and every entry of the ticket.

        With `lock` (PostgreSQL; SQLite serialises writers anyway), the contracts' rows stay
        locked until the transaction ends, so that concurrent decisions on one contract count
        one after the other instead of both taking the same ordinal.
        """
        wanted = set(keys)
        if wanted and lock and session.bind.dialect.name != "sqlite":  # SQLite: one writer
            ids = sorted({contract_id for contract_id, _ in wanted})
            session.execute(_LOCK_CONTRACTS, {"ids": ids}).all()
        used = self.ledger_counts(session, wanted)
        entries = tuple(
            LedgerEntry(row.contract_id, row.period, row.ordinal, row.release_reason)
            for row in session.execute(
                _TICKET_ENTRIES, {"helpdesk": helpdesk, "ticket": str(ticket_id)}
            )
        )
        return LedgerView(used=used, entries=entries)

    def ledger_counts(
        self, session: Session, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """Active entries per (contract id, period) in `keys`; 0 where there are none."""
        wanted = set(keys)
        used = dict.fromkeys(wanted, 0)
        if wanted:
            counts = session.execute(
                _LEDGER_COUNTS,
                {
                    "contracts": sorted({contract_id for contract_id, _ in wanted}),
                    "periods": sorted({period for _, period in wanted}),
                },
            )
            for contract_id, period, count in counts:
                if (contract_id, period) in used:
                    used[contract_id, period] = count
        return used

    def apply_ledger(
        self,
        session: Session,
        helpdesk: str,
        ticket_id: int | str,
        ticket_created_at: datetime,
        changes: Sequence[LedgerChange],
        now: datetime,
    ) -> None:
        """Apply a decision's ledger changes. Idempotent: counting a ticket already counted on
        that contract, or releasing one not counted, changes nothing. A count for a released
        entry re-activates it (the unique constraint allows one row per contract and ticket).
        Two transactions counting the same new ticket at once: the second fails with an
        IntegrityError when it inserts; decide again."""
        _require_aware(ticket_created_at, "ticket_created_at")
        _require_aware(now, "now")
        entry = {"helpdesk": helpdesk, "ticket": str(ticket_id)}
        # Per contract: whether the ticket's entry is active; no key, no entry.
        active = {
            row.contract_id: row.released_at is None
            for row in session.execute(_TICKET_ENTRIES_LOCKED, entry)
        }
        for change in changes:
            this = {
                "of_contract": change.contract_id,
                "of_helpdesk": helpdesk,
                "of_ticket": str(ticket_id),
            }
            if change.action == "count":
                if change.contract_id not in active:
                    session.execute(
                        _NEW_ENTRY,
                        {
                            "contract_id": change.contract_id,
                            "helpdesk": helpdesk,
                            "ticket_id": str(ticket_id),
                            "period": change.period,
                            "ticket_created_at": ticket_created_at,
                            "ordinal": change.ordinal,
                            "counted_at": now,
                        },
                    )
                elif not active[change.contract_id]:
                    session.execute(
                        _COUNT_AGAIN,
                        {
                            **this,
                            "new_period": change.period,
                            "new_ordinal": change.ordinal,
                            "created": ticket_created_at,
                            "at": now,
                        },
                    )
                active[change.contract_id] = True
            elif change.action == "release":
                if active.get(change.contract_id):
                    reason = change.reason or RELEASED
                    session.execute(_RELEASE, {**this, "at": now, "reason": reason})
                    active[change.contract_id] = False
            else:
                raise ValueError(f"unknown ledger action {change.action!r}")

    # Decisions (the audit trail)

    def record_decision(
        self,
        session: Session,
        decision: Decision,
        inputs: Mapping[str, Any],
        now: datetime,
        *,
        previous: dict[str, Any] | None,
    ) -> bool:
        """Append a decision with what it was made from; True if it differs from `previous`,
        the ticket's last decision as `last_decision` read it in this transaction (None: this
        is its first)."""
        _require_aware(now, "now")
        shown = jsonable(decision.to_dict())
        changed = previous != shown
        session.execute(
            _NEW_DECISION,
            {
                "helpdesk": decision.helpdesk,
                "ticket_id": str(decision.ticket_id),
                "decided_at": now,
                "inputs": jsonable(inputs),
                "decision": shown,
                "changed": changed,
            },
        )
        return changed

    def last_decision(
        self, session: Session, helpdesk: str, ticket_id: int | str
    ) -> dict[str, Any] | None:
        """The ticket's latest decision in the shape of `Decision.to_dict()`."""
        params = {"helpdesk": helpdesk, "ticket": str(ticket_id)}
        return session.execute(_LAST_DECISION, params).scalar()

    def decisions(
        self, session: Session, helpdesk: str, ticket_id: int | str
    ) -> list[StoredDecision]:
        """A ticket's decisions, oldest first: the audit trail."""
        query = (
            select(DecisionRow)
            .where(DecisionRow.helpdesk == helpdesk, DecisionRow.ticket_id == str(ticket_id))
            .order_by(DecisionRow.id)
        )
        return [_stored_decision(row) for row in session.scalars(query)]

    def latest_decisions(
        self, session: Session, *, customer_number: str | None = None
    ) -> Iterator[StoredDecision]:
        """Each ticket's latest decision (of `customer_number`'s tickets, as their facts then
        said), by id; streamed, for there may be many."""
        latest = (
            select(func.max(DecisionRow.id))
            .group_by(DecisionRow.helpdesk, DecisionRow.ticket_id)
            .scalar_subquery()
        )
        query = select(DecisionRow).where(DecisionRow.id.in_(latest)).order_by(DecisionRow.id)
        if customer_number is not None:
            number = DecisionRow.inputs["facts"]["customer_number"].as_string()
            query = query.where(number == customer_number)
        for row in session.scalars(query.execution_options(yield_per=LOAD_CHUNK)):
            yield _stored_decision(row)


@dataclass
class Customer:
    number: str
    name: str | None = None
    contracts: list[Contract] = field(default_factory=list)


@dataclass(frozen=True)
class StoredDecision:
    """A row of the audit trail: the decision (its shape, `Decision.to_dict()`) and its
    inputs as stored (JSON)."""

    id: int
    helpdesk: str
    ticket_id: str
    decided_at: datetime
    inputs: dict[str, Any]
    decision: dict[str, Any]
    changed: bool


def _stored_decision(row: DecisionRow) -> StoredDecision:
    return StoredDecision(
        row.id, row.helpdesk, row.ticket_id, row.decided_at, row.inputs, row.decision, row.changed
    )


def jsonable(value: Any) -> Any:
    """`value` as JSON data: dataclasses and string-keyed mappings as objects, other mappings
    as lists of {"key", "value"}, sequences as arrays, sets as sorted arrays, dates and times
    in ISO 8601, Decimal as a string, enums by value. Anything else is a TypeError: the audit
    trail must not hold `repr`s."""
    if isinstance(value, Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a JSON number")
        return value
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        if all(isinstance(key, str) for key in value):
            return {key: jsonable(item) for key, item in value.items()}
        return [{"key": jsonable(key), "value": jsonable(item)} for key, item in value.items()]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=_json_order)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _json_order(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")


def _licence_values(licence: Licence) -> dict[str, Any]:
    """A licence's columns but its revision, normalised as stored (so they compare)."""
    price = licence.list_price
    return {
        "licence_id": licence.licence_id,
        "customer_number": licence.customer_number,
        "customer_name": licence.customer_name,
        "plan": licence.plan,
        "product": licence.product,
        "purchased_on": licence.purchased_on,
        "accepted_on": licence.accepted_on,
        "go_live_on": licence.go_live_on,
        "list_price": None if price is None else Decimal(price).quantize(CENT),
        "currency": licence.currency,
        "status": licence.status,
        "cancelled_on": licence.cancelled_on,
        "options": sorted(set(licence.options)),  # a set: order carries no meaning
    }


def _contract_values(contract: Contract) -> dict[str, Any]:
    return {
        "id": contract.id,
        "customer_number": contract.customer_number,
        "plan": contract.plan,
        "starts_on": contract.starts_on,
        "first_end_on": contract.first_end_on,
        "renewal_months": contract.renewal_months,
        "notice_months": contract.notice_months,
        "final_end_on": contract.final_end_on,
        "terminated": contract.terminated,
        "options": sorted(contract.options),
    }


def _matches(row: object, values: Mapping[str, Any]) -> bool:
    return all(getattr(row, name) == value for name, value in values.items())


def _assign(row: object, values: Mapping[str, Any], **more: Any) -> None:
    for name, value in {**values, **more}.items():
        setattr(row, name, value)


def _licence_from_row(row: LicenceRow) -> Licence:
    return Licence(
        licence_id=row.licence_id,
        customer_number=row.customer_number,
        plan=row.plan,
        purchased_on=row.purchased_on,
        revision=row.revision,
        customer_name=row.customer_name,
        product=row.product,
        accepted_on=row.accepted_on,
        go_live_on=row.go_live_on,
        list_price=row.list_price,
        currency=row.currency,
        status=row.status,
        cancelled_on=row.cancelled_on,
        options=tuple(row.options),
    )


def _contract_from_row(row: ContractRow) -> Contract:
    return Contract(
        id=row.id,
        customer_number=row.customer_number,
        plan=row.plan,
        starts_on=row.starts_on,
        first_end_on=row.first_end_on,
        renewal_months=row.renewal_months,
        notice_months=row.notice_months,
        final_end_on=row.final_end_on,
        terminated=row.terminated,
        options=frozenset(row.options),
    )
