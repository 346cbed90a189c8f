"""Tables of the store. Migrations in `adapter/migrations` must match these (a test checks)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

SOURCES = ("import", "push", "pull")
CENT = Decimal("0.01")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored as UTC, returned as an aware UTC datetime on every backend.

    SQLite keeps no offset, so a naive value read back is UTC by construction. Naive values
    are refused on the way in: their instant is unknown.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored as an instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """NUMERIC(12, 2) as Decimal with two places. SQLite has no decimal type: it goes through
    a float there, which holds 12 digits exactly."""

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(12, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(12, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(CENT)
        return float(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


# JSONB on PostgreSQL: indexable and compact; plain JSON (text) elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")

# Deterministic constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids that grow without bound; SQLite only auto-increments a column declared INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        datetime: UTCDateTime(),
        date: Date(),
        Decimal: Money(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


class LicenceRow(Base):
    """A licence as last accepted from the ERP (push or pull) or an import file."""

    __tablename__ = "licences"
    __table_args__ = (
        CheckConstraint(f"source IN ({', '.join(map(repr, SOURCES))})", name="source"),
    )

    licence_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int | None] = mapped_column(Integer)
    customer_number: Mapped[str] = mapped_column(String(64), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(255))
    plan: Mapped[str] = mapped_column(String(32))
    product: Mapped[str | None] = mapped_column(String(64))
    purchased_on: Mapped[date]
    accepted_on: Mapped[date | None]
    go_live_on: Mapped[date | None]
    list_price: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    cancelled_on: Mapped[date | None]
    options: Mapped[list[str]]
    source: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]

    contract: Mapped[ContractRow | None] = relationship(back_populates="licence")


class ContractRow(Base):
    """The support contract the domain derives from a licence; one per licence."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(
        String(64), ForeignKey("licences.licence_id", ondelete="CASCADE"), primary_key=True
    )
    customer_number: Mapped[str] = mapped_column(String(64), index=True)
    plan: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date]
    first_end_on: Mapped[date]
    renewal_months: Mapped[int]
    notice_months: Mapped[int]
    final_end_on: Mapped[date | None]
    terminated: Mapped[bool]
    options: Mapped[list[str]]
    updated_at: Mapped[datetime]

    licence: Mapped[LicenceRow] = relationship(back_populates="contract")


class LedgerEntryRow(Base):
    """One ticket charged to one contract's quota. Released rows gave their count back and
    are re-activated rather than duplicated, so the unique constraint holds for all time."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("contract_id", "helpdesk", "ticket_id", name="uq_ledger_entries_ticket"),
        Index("ix_ledger_entries_contract_period", "contract_id", "period"),
        Index("ix_ledger_entries_ticket", "helpdesk", "ticket_id"),
        # A released entry without a reason would read as active (LedgerEntry.active).
        CheckConstraint(
            "(released_at IS NULL) = (release_reason IS NULL)", name="release_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(64), ForeignKey("contracts.id"))
    helpdesk: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    ticket_created_at: Mapped[datetime]
    ordinal: Mapped[int]
    counted_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(String(64))


class DecisionRow(Base):
    """The audit trail: every decision with what it was made from. Append-only."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_ticket", "helpdesk", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    helpdesk: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime]
    inputs: Mapped[dict[str, Any]]
    decision: Mapped[dict[str, Any]]
    changed: Mapped[bool]


QUEUE_STATUSES = ("pending", "done", "dead")


class _Queued:
    """Retry state lives in the row, not in memory: status, attempts, when to try next, the
    last error, and a lease (`claimed_until`, held by `claimed_by`) so a worker that dies leaves
    the row to others, and one whose lease ended can no longer finish or fail it."""

    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    history: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # every failed attempt


# The queues' indexes cover the claim (adapter/store/queue.py), so that choosing rows reads no
# payload: the due rows in id order, and a ticket's earlier rows with their status.
_DUE = ("status", "id", "next_attempt_at", "claimed_until", "helpdesk", "ticket_id")
_TICKET = ("helpdesk", "ticket_id", "id", "status")


class InboxRow(_Queued, Base):
    """An accepted webhook delivery, stored raw before anything else happens to it."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("helpdesk", "delivery_id", name="uq_inbox_delivery"),
        UniqueConstraint("helpdesk", "body_digest", name="uq_inbox_body"),
        Index("ix_inbox_due", *_DUE),
        Index("ix_inbox_ticket", *_TICKET),
        CheckConstraint(f"status IN ({', '.join(map(repr, QUEUE_STATUSES))})", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    helpdesk: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(128))
    ticket_id: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)  # the exact body, as signed
    # SHA-256 of a signed body: the same body under a new delivery id is a replay. Blanked with
    # the payload when its retention ends.
    body_digest: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class OutboxRow(_Queued, Base):
    """A write-back to a helpdesk, committed with the decision that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", *_DUE),
        Index("ix_outbox_ticket", *_TICKET),
        CheckConstraint(f"status IN ({', '.join(map(repr, QUEUE_STATUSES))})", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    helpdesk: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class CheckpointRow(Base):
    """Where a sync stopped: the reconcile watermark, the ERP pull's cursor. Written in the
    same transaction as what was synced up to it, so a resumed sync has no gap and no repeat."""

    __tablename__ = "checkpoints"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class OnCallBookingRow(Base):
    """An extended on-call booking: a window on each of some days, with employees and hours."""

    __tablename__ = "on_call_bookings"
    __table_args__ = (
        CheckConstraint("employees >= 1", name="employees"),
        CheckConstraint("minutes > 0", name="minutes"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_number: Mapped[str] = mapped_column(String(64), index=True)
    days: Mapped[list[str]]  # ISO dates, sorted
    window_from: Mapped[str] = mapped_column(String(5))  # HH:MM, local wall clock
    window_to: Mapped[str] = mapped_column(String(5))
    employees: Mapped[int]
    minutes: Mapped[int]  # working minutes booked per day, all employees together
    created_at: Mapped[datetime]


class OnCallCancellationRow(Base):
    """A cancelled day of an on-call booking, and when it was cancelled (what it costs)."""

    __tablename__ = "on_call_cancellations"
    __table_args__ = (UniqueConstraint("booking_id", "day", name="uq_on_call_cancellations_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("on_call_bookings.id", ondelete="CASCADE")
    )
    day: Mapped[date]
    cancelled_at: Mapped[datetime]


class LicencePriceRow(Base):
    """A licence's list price as stored at a time: a support fee takes the one held before its
    day, so that a price change applies from the next fee only."""

    __tablename__ = "licence_prices"
    __table_args__ = (Index("ix_licence_prices_licence", "licence_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    licence_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("licences.licence_id", ondelete="CASCADE")
    )
    list_price: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    recorded_at: Mapped[datetime]


class WorkItemRow(Base):
    """Accounted time on a billable ticket: the source of the billing export's lines."""

    __tablename__ = "work_items"
    __table_args__ = (CheckConstraint("minutes >= 0", name="minutes"),)

    id: Mapped[str] = mapped_column(String(160), primary_key=True)  # helpdesk:ticket:accounting
    helpdesk: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[str] = mapped_column(String(64))
    contract_id: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(128))  # the flag code the time is billed under
    started_at: Mapped[datetime] = mapped_column(index=True)
    minutes: Mapped[int]
    activity: Mapped[str | None] = mapped_column(String(64))  # the helpdesk's activity type id
    recorded_at: Mapped[datetime]


class PushedLineRow(Base):
    """A billing line the ERP accepted: never sent again (line ids depend on the work only)."""

    __tablename__ = "pushed_lines"

    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pushed_at: Mapped[datetime]
