"""The store on the database under test (SQLite by default; see conftest.py for PostgreSQL)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, func, inspect, literal, select
from sqlalchemy.exc import IntegrityError, StatementError

from adapter.contracts import Contract, ContractStatus, Licence, contract_from_licence
from adapter.engine import ContractView, Decision, Flag, QuotaState, TicketFacts, decide
from adapter.quota import LedgerChange, LedgerEntry, LedgerView, period_of
from adapter.store import (
    Base,
    Store,
    downgrade,
    is_migrated,
    jsonable,
    make_engine,
    normalise_url,
    upgrade,
)
from adapter.store.models import DecisionRow, LedgerEntryRow, LicenceRow, UTCDateTime

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
CREATED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TABLES = {"licences", "contracts", "ledger_entries", "decisions"}


def make_licence(licence_id: str = "LIC-1001", revision: int | None = 1, **changes) -> Licence:
    licence = Licence(
        licence_id=licence_id,
        customer_number="C-100",
        plan="basic",
        purchased_on=date(2026, 3, 15),
        revision=revision,
        customer_name="Awesome Customer Inc.",
        product="SP-PRO-10",
        list_price=Decimal("12000.00"),
        currency="EUR",
        options=("third_party_projects",),
    )
    return replace(licence, **changes)


def contract_of(licence: Licence, **changes) -> Contract:
    contract = Contract(
        id=licence.licence_id,
        customer_number=licence.customer_number,
        plan=licence.plan,
        starts_on=licence.purchased_on,
        first_end_on=date(licence.purchased_on.year + 1, 12, 31),
        renewal_months=12,
        notice_months=3,
        options=frozenset(licence.options),
    )
    return replace(contract, **changes)


def item(licence_id: str = "LIC-1001", revision: int | None = 1, **changes):
    licence = make_licence(licence_id, revision, **changes)
    return licence, contract_of(licence)


def stamps(store: Store, licence_id: str) -> tuple[str, datetime, datetime]:
    """Source and updated_at of a licence, and its contract's updated_at."""
    with store.session() as session:
        row = session.get(LicenceRow, licence_id)
        assert row is not None
        assert row.contract is not None
        return row.source, row.updated_at, row.contract.updated_at


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# Engine and migrations


def test_sqlite_engine_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'settings.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@db:5432/entitlements", "postgresql+psycopg"),
        ("postgres://u:p@db/entitlements", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@db/entitlements", "postgresql+psycopg"),
        ("sqlite:///entitlements.db", "sqlite"),
    ],
)
def test_urls_get_the_installed_driver(url, driver):
    normalised = normalise_url(url)
    assert normalised.drivername == driver
    assert normalised.database == "entitlements" + (".db" if driver == "sqlite" else "")


def test_migrations_create_every_table(engine):
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert is_migrated(engine)


def test_models_match_the_migrations(engine):
    def ours(name, type_, parent_names) -> bool:
        return type_ != "table" or name in Base.metadata.tables

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": ours, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(engine):
    try:
        downgrade(engine, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        assert not is_migrated(engine)
    finally:
        upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert is_migrated(engine)


def test_a_fresh_database_is_not_migrated(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert not is_migrated(engine)
        upgrade(engine)
        upgrade(engine)  # at head already: nothing to do
        assert is_migrated(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_column_types(engine):
    columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("ledger_entries")}
    assert columns["counted_at"].timezone
    decisions = {c["name"]: c["type"] for c in inspect(engine).get_columns("decisions")}
    assert type(decisions["inputs"]).__name__ == "JSONB"


# Licences and contracts


def test_licence_and_contract_round_trip(store):
    licence, contract = item(
        accepted_on=date(2026, 4, 1),
        status="cancelled",
        cancelled_on=date(2026, 9, 1),
        options=("b_option", "a_option"),
    )
    contract = replace(contract, final_end_on=date(2027, 12, 31))
    with store.session() as session:
        report = store.upsert_licences(session, [(licence, contract)], "push", NOW)
    assert (report.created, report.updated, report.unchanged, report.stale) == (1, 0, 0, 0)
    with store.session() as session:
        stored = store.licence(session, "LIC-1001")
        assert store.licence(session, "LIC-404") is None
        contracts = store.contracts_for(session, "C-100")
        assert store.contracts_for(session, "C-999") == []
    assert stored == replace(licence, options=("a_option", "b_option"))
    assert isinstance(stored.list_price, Decimal)
    assert contracts == [contract]
    assert contracts[0].options == frozenset({"a_option", "b_option"})
    assert stamps(store, "LIC-1001") == ("push", NOW, NOW)


def test_the_same_batch_twice_changes_nothing(store, engine):
    batch = [item(f"LIC-{n}", revision=n % 3 or None) for n in range(1200)]
    with store.session() as session:
        assert store.upsert_licences(session, batch, "import", NOW).created == 1200
    with statements(engine) as seen, store.session() as session:
        report = store.upsert_licences(session, batch, "import", NOW + timedelta(hours=1))
    assert (report.created, report.updated, report.unchanged, report.stale) == (0, 0, 1200, 0)
    assert report.conflicts == []
    # Existing rows load in a few queries per batch, not one per licence; a repeat writes nothing.
    assert seen.count("SELECT") == math.ceil(1200 / 500)
    assert not {"INSERT", "UPDATE", "DELETE"} & set(seen)
    assert stamps(store, "LIC-7") == ("import", NOW, NOW)


def test_a_higher_revision_replaces(store):
    with store.session() as session:
        store.upsert_licences(session, [item(revision=3)], "push", NOW)
    later = NOW + timedelta(days=1)
    newer = make_licence(revision=4, status="terminated", cancelled_on=date(2026, 12, 31))
    contract = contract_of(newer, final_end_on=date(2026, 12, 31), terminated=True)
    with store.session() as session:
        report = store.upsert_licences(session, [(newer, contract)], "pull", later)
    assert (report.updated, report.unchanged, report.stale) == (1, 0, 0)
    with store.session() as session:
        assert store.licence(session, "LIC-1001") == newer
        assert store.contracts_for(session, "C-100") == [contract]
    assert stamps(store, "LIC-1001") == ("pull", later, later)


def test_a_lower_revision_is_stale(store):
    with store.session() as session:
        store.upsert_licences(session, [item(revision=3)], "push", NOW)
    with store.session() as session:
        report = store.upsert_licences(
            session, [item(revision=2, plan="pro")], "push", NOW + timedelta(days=1)
        )
    assert (report.updated, report.unchanged, report.stale) == (0, 0, 1)
    with store.session() as session:
        assert store.licence(session, "LIC-1001") == make_licence(revision=3)
    assert stamps(store, "LIC-1001") == ("push", NOW, NOW)


def test_without_revision_a_later_licence_replaces_when_different(store):
    with store.session() as session:
        store.upsert_licences(session, [item(revision=None)], "import", NOW)
    with store.session() as session:
        same = store.upsert_licences(session, [item(revision=None)], "import", NOW)
        changed = store.upsert_licences(
            session, [item(revision=None, customer_name="Renamed Inc.")], "import", NOW
        )
    assert (same.unchanged, same.updated) == (1, 0)
    assert (changed.unchanged, changed.updated) == (0, 1)
    with store.session() as session:
        assert store.licence(session, "LIC-1001").customer_name == "Renamed Inc."


def test_no_revision_after_a_revision(store):
    with store.session() as session:
        store.upsert_licences(session, [item(revision=5)], "push", NOW)
    with store.session() as session:
        # The same content without a revision is a repeat: the revision stays.
        assert store.upsert_licences(session, [item(revision=None)], "import", NOW).unchanged == 1
        assert store.licence(session, "LIC-1001").revision == 5
        # Different content without a revision is a later licence: it replaces.
        report = store.upsert_licences(session, [item(revision=None, plan="pro")], "import", NOW)
        assert report.updated == 1
        assert store.licence(session, "LIC-1001") == make_licence(revision=None, plan="pro")
        # Any revision is later than none.
        assert store.upsert_licences(session, [item(revision=1)], "push", NOW).updated == 1


def test_same_revision_different_content_is_a_conflict(store):
    with store.session() as session:
        store.upsert_licences(session, [item(revision=3), item("LIC-2", revision=3)], "push", NOW)
    with store.session() as session:
        report = store.upsert_licences(
            session,
            [item(revision=3, list_price=Decimal("9.99")), item("LIC-2", revision=3)],
            "push",
            NOW + timedelta(days=1),
        )
    assert (report.updated, report.unchanged, report.stale) == (0, 2, 0)
    assert report.conflicts == ["LIC-1001"]
    with store.session() as session:
        assert store.licence(session, "LIC-1001").list_price == Decimal("12000.00")


def test_a_new_contract_for_the_same_licence_is_stored(store):
    # The policy changed (a different term), the licence did not.
    licence, contract = item(revision=3)
    with store.session() as session:
        store.upsert_licences(session, [(licence, contract)], "push", NOW)
    longer = replace(contract, first_end_on=date(2028, 12, 31))
    with store.session() as session:
        report = store.upsert_licences(session, [(licence, longer)], "push", NOW)
        assert report.updated == 1
        assert store.contracts_for(session, "C-100") == [longer]


def test_repeats_within_one_batch(store):
    with store.session() as session:
        report = store.upsert_licences(
            session, [item(revision=1), item(revision=1), item(revision=2, plan="pro")], "push", NOW
        )
    assert (report.created, report.unchanged, report.updated) == (1, 1, 1)
    with store.session() as session:
        assert store.licence(session, "LIC-1001").plan == "pro"


def test_upsert_refuses_bad_input(store):
    licence, contract = item()
    with store.session() as session:
        with pytest.raises(ValueError, match="source"):
            store.upsert_licences(session, [(licence, contract)], "email", NOW)
        with pytest.raises(ValueError, match="contract"):
            store.upsert_licences(session, [(licence, replace(contract, id="X"))], "push", NOW)
        with pytest.raises(ValueError, match="timezone"):
            store.upsert_licences(session, [(licence, contract)], "push", NOW.replace(tzinfo=None))


def test_a_failed_session_rolls_back(store):
    with pytest.raises(RuntimeError), store.session() as session:
        store.upsert_licences(session, [item()], "push", NOW)
        raise RuntimeError("boom")
    with store.session() as session:
        assert store.licence(session, "LIC-1001") is None


# Instants


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.timezones(),
        allow_imaginary=False,
    )
)
def test_instants_round_trip(engine, moment):
    with engine.connect() as connection:
        back = connection.scalar(select(literal(moment, UTCDateTime())))
    # Compared in UTC: an ambiguous local time never equals a time in another zone (PEP 495).
    assert back == moment.astimezone(UTC)
    assert back.tzinfo is UTC


def test_instants_round_trip_through_a_table(store):
    created = datetime(2026, 11, 23, 23, 30, 0, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
    counted = datetime(2026, 11, 24, 1, 0, tzinfo=timezone(timedelta(hours=-5)))
    with store.session() as session:
        store.upsert_licences(session, [item()], "push", NOW)
        store.apply_ledger(
            session,
            "zammad",
            81,
            created,
            [LedgerChange("count", "LIC-1001", "2026-11", 1)],
            counted,
        )
    with store.session() as session:
        row = session.scalars(select(LedgerEntryRow)).one()
    assert row.ticket_created_at == created
    assert row.counted_at == counted
    assert row.counted_at.tzinfo is UTC
    assert row.counted_at.hour == 6


def test_naive_datetimes_are_refused(store):
    with pytest.raises(StatementError, match="naive"), store.session() as session:
        session.add(
            DecisionRow(
                helpdesk="zammad",
                ticket_id="1",
                decided_at=datetime(2026, 11, 24, 9, 0),
                inputs={},
                decision={},
                changed=True,
            )
        )


# The quota ledger


def count(contract_id: str = "LIC-1001", period: str = "2026-11", ordinal: int = 1):
    return LedgerChange("count", contract_id, period, ordinal)


def release(contract_id: str = "LIC-1001", period: str = "2026-11", reason: str = "spam"):
    return LedgerChange("release", contract_id, period, 0, reason)


@pytest.fixture
def contracts(store: Store) -> Store:
    with store.session() as session:
        store.upsert_licences(session, [item(), item("LIC-2002")], "push", NOW)
    return store


def test_count_release_and_count_again(contracts):
    store = contracts
    key = ("LIC-1001", "2026-11")

    def view() -> LedgerView:
        with store.session() as session:
            return store.ledger_view(session, "zammad", 81, [key])

    with store.session() as session:
        store.apply_ledger(session, "zammad", 81, CREATED, [count(ordinal=1)], NOW)
    assert view() == LedgerView({key: 1}, (LedgerEntry("LIC-1001", "2026-11", 1),))

    with store.session() as session:  # the same change again counts nothing
        store.apply_ledger(session, "zammad", "81", CREATED, [count(ordinal=1)], NOW)
    assert view().used == {key: 1}

    with store.session() as session:
        store.apply_ledger(session, "zammad", 81, CREATED, [release(reason="merged")], NOW)
        store.apply_ledger(session, "zammad", 81, CREATED, [release(reason="spam")], NOW)
    assert view() == LedgerView({key: 0}, (LedgerEntry("LIC-1001", "2026-11", 1, "merged"),))

    with store.session() as session:  # re-activated: the same row, new place
        store.apply_ledger(session, "zammad", 81, CREATED, [count(ordinal=3)], NOW)
        rows = session.scalars(select(LedgerEntryRow)).all()
    assert view() == LedgerView({key: 1}, (LedgerEntry("LIC-1001", "2026-11", 3),))
    assert len(rows) == 1
    assert (rows[0].released_at, rows[0].release_reason) == (None, None)


def test_a_release_without_reason_still_releases(contracts):
    store = contracts
    with store.session() as session:
        store.apply_ledger(session, "zammad", 81, CREATED, [count()], NOW)
        store.apply_ledger(
            session, "zammad", 81, CREATED, [LedgerChange("release", "LIC-1001", "2026-11")], NOW
        )
        (entry,) = store.ledger_view(session, "zammad", 81, []).entries
    assert not entry.active


def test_moving_a_ticket_between_contracts(contracts):
    store = contracts
    with store.session() as session:
        store.apply_ledger(session, "zammad", 81, CREATED, [count("LIC-1001")], NOW)
        store.apply_ledger(
            session, "zammad", 81, CREATED, [release("LIC-1001"), count("LIC-2002")], NOW
        )
        view = store.ledger_view(
            session, "zammad", 81, [("LIC-1001", "2026-11"), ("LIC-2002", "2026-11")]
        )
    assert view.used == {("LIC-1001", "2026-11"): 0, ("LIC-2002", "2026-11"): 1}
    assert [(e.contract_id, e.active) for e in view.entries] == [
        ("LIC-1001", False),
        ("LIC-2002", True),
    ]


def test_unknown_ledger_action(contracts):
    with pytest.raises(ValueError, match="refund"), contracts.session() as session:
        contracts.apply_ledger(
            session, "zammad", 81, CREATED, [LedgerChange("refund", "LIC-1001", "2026-11")], NOW
        )


def test_ledger_view_counts_active_entries_in_the_asked_periods(contracts):
    store = contracts
    entries = [
        (1, count("LIC-1001", "2026-11", 1)),
        (2, count("LIC-1001", "2026-11", 2)),
        (3, count("LIC-1001", "2026-11", 3)),
        (4, count("LIC-1001", "2026-10", 1)),
        (5, count("LIC-2002", "2026-11", 1)),
        (6, count("LIC-2002", "2026-10", 1)),
    ]
    with store.session() as session:
        for ticket, change in entries:
            store.apply_ledger(session, "zammad", ticket, CREATED, [change], NOW)
        store.apply_ledger(session, "zammad", 2, CREATED, [release("LIC-1001")], NOW)
        # Another helpdesk's ticket 1 is another ticket.
        store.apply_ledger(session, "otrs", 1, CREATED, [count("LIC-1001", "2026-11", 3)], NOW)
    keys = [("LIC-1001", "2026-11"), ("LIC-2002", "2026-10"), ("LIC-3003", "2026-11")]
    with store.session() as session:
        view = store.ledger_view(session, "zammad", 2, keys)
        other = store.ledger_view(session, "zammad", 99, iter(keys))
        empty = store.ledger_view(session, "zammad", 1, [])
    assert view.used == {("LIC-1001", "2026-11"): 3, ("LIC-2002", "2026-10"): 1, keys[2]: 0}
    assert view.entries == (LedgerEntry("LIC-1001", "2026-11", 2, "spam"),)
    assert other.used == view.used
    assert other.entries == ()
    assert empty == LedgerView({}, (LedgerEntry("LIC-1001", "2026-11", 1),))


def test_the_database_rejects_a_second_entry_for_a_ticket(contracts):
    with pytest.raises(IntegrityError), contracts.session() as session:
        for _ in range(2):
            session.add(ledger_row())
        session.flush()


def test_the_database_rejects_an_entry_for_an_unknown_contract(contracts):
    with pytest.raises(IntegrityError), contracts.session() as session:
        session.add(ledger_row(contract_id="LIC-404"))
        session.flush()


def test_a_concurrent_second_count_fails(contracts):
    """Two transactions inserting the same ticket's entry: the second waits for the first and
    then fails (PostgreSQL: on the unique index; SQLite: writers take turns)."""
    store = contracts
    errors: list[BaseException] = []
    started = threading.Event()

    def second() -> None:
        started.set()
        try:
            with store.session() as session:
                session.add(ledger_row(ordinal=2))
                session.flush()
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    with store.session() as session:
        session.add(ledger_row())
        session.flush()
        thread = threading.Thread(target=second)
        thread.start()
        started.wait()
        thread.join(timeout=0.3)  # let it reach the database and wait there
        assert thread.is_alive() or errors
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], IntegrityError)
    with store.session() as session:
        assert session.scalars(select(LedgerEntryRow.ordinal)).all() == [1]


def ledger_row(contract_id: str = "LIC-1001", ordinal: int = 1) -> LedgerEntryRow:
    return LedgerEntryRow(
        contract_id=contract_id,
        helpdesk="zammad",
        ticket_id="81",
        period="2026-11",
        ticket_created_at=CREATED,
        ordinal=ordinal,
        counted_at=NOW,
    )


# Decisions


def make_decision(used: int = 3, ticket_id: int | str = 81) -> Decision:
    return Decision(
        helpdesk="zammad",
        ticket_id=ticket_id,
        plan="basic",
        contract=ContractView(
            "LIC-1001",
            date(2026, 3, 15),
            date(2027, 12, 31),
            date(2027, 9, 30),
            ContractStatus.ACTIVE,
        ),
        quota=QuotaState("2026-11", used, 4, True),
        reaction_due=datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        flags=(Flag("over_quota", "billable"),) if used > 4 else (),
    )


def test_record_decision_reports_changes(store):
    facts = TicketFacts("zammad", 81, CREATED, "C-100", categories=frozenset({"usage_question"}))
    inputs = {
        "facts": facts,
        "contracts": [contract_of(make_licence())],
        "ledger": LedgerView({("LIC-1001", "2026-11"): 2}),
        "now": NOW,
        "policy": "a9457a5cdc1bf8f9",
    }

    def record(session, decision, inputs):
        previous = store.last_decision(session, "zammad", decision.ticket_id)
        return store.record_decision(session, decision, inputs, NOW, previous=previous)

    with store.session() as session:
        assert store.last_decision(session, "zammad", 81) is None
        assert record(session, make_decision(3), inputs) is True
        assert record(session, make_decision(3), inputs) is False
    with store.session() as session:
        assert record(session, make_decision(5), inputs) is True
        assert record(session, make_decision(5), {}) is False
        # Another ticket has its own history.
        assert record(session, make_decision(5, ticket_id=82), {}) is True
    with store.session() as session:
        assert store.last_decision(session, "zammad", "81") == make_decision(5).to_dict()
        rows = session.scalars(select(DecisionRow).order_by(DecisionRow.id)).all()
    assert [(r.ticket_id, r.changed) for r in rows] == [
        ("81", True),
        ("81", False),
        ("81", True),
        ("81", False),
        ("82", True),
    ]
    stored = rows[0].inputs
    assert stored["facts"]["created_at"] == "2026-11-23T10:00:00+00:00"
    assert stored["facts"]["categories"] == ["usage_question"]
    assert stored["contracts"][0]["first_end_on"] == "2027-12-31"
    assert stored["ledger"]["used"] == [{"key": ["LIC-1001", "2026-11"], "value": 2}]
    assert stored["now"] == "2026-11-24T09:30:00+00:00"
    assert rows[0].decision["reaction_due"] == "2026-11-25T08:00:00Z"


def test_jsonable():
    assert jsonable(
        {
            "day": date(2026, 1, 2),
            "price": Decimal("1.50"),
            "tags": frozenset({"b", "a"}),
            "pair": ("x", 1),
            "status": ContractStatus.ACTIVE,
            "none": None,
        }
    ) == {
        "day": "2026-01-02",
        "price": "1.50",
        "tags": ["a", "b"],
        "pair": ["x", 1],
        "status": "active",
        "none": None,
    }
    with pytest.raises(TypeError):
        jsonable({"what": object()})
    with pytest.raises(ValueError):
        jsonable(float("nan"))


# The pieces together, as the worker will use them


def test_deciding_a_ticket_twice_counts_it_once(store):
    from mappings.plans import load_policy

    policy = load_policy()
    licence = make_licence(revision=1)
    with store.session() as session:
        store.upsert_licences(
            session, [(licence, contract_from_licence(licence, policy.plan("basic")))], "push", NOW
        )
    facts = TicketFacts("zammad", 81, CREATED, "C-100")
    for _ in range(2):
        with store.session() as session:
            contracts = store.contracts_for(session, "C-100")
            keys = [
                (c.id, period_of(CREATED, policy.plan(c.plan).quota.per, policy.calendar.time_zone))
                for c in contracts
            ]
            ledger = store.ledger_view(session, "zammad", 81, keys)
            decision = decide(facts, contracts, ledger, NOW, policy=policy)
            store.apply_ledger(session, "zammad", 81, CREATED, decision.ledger, NOW)
            previous = store.last_decision(session, "zammad", 81)
            store.record_decision(session, decision, {"ledger": ledger}, NOW, previous=previous)
    assert decision.quota is not None
    assert (decision.quota.used, decision.quota.counted) == (1, True)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntryRow)) == 1
        changed = session.scalars(select(DecisionRow.changed).order_by(DecisionRow.id)).all()
        assert changed == [True, False]
