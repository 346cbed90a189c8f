"""Mixed into `Store`: extended on-call bookings, as domain `Booking`s, and their cancelled
days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from adapter.limits import MAX_ROW_ID
from adapter.oncall import Booking
from adapter.store.models import OnCallBookingRow, OnCallCancellationRow

_BOOKINGS = OnCallBookingRow.__table__
_ALL_BOOKINGS = select(_BOOKINGS).order_by(_BOOKINGS.c.id)
# Every decision reads them: built once (see adapter.store.queue).
_BOOKINGS_OF = _ALL_BOOKINGS.where(_BOOKINGS.c.customer_number == bindparam("customer"))


class OnCallStore:
    def add_booking(self, session: Session, booking: Booking, now: datetime) -> Booking:
        """Store a validated booking; returns it with its id."""
        row = OnCallBookingRow(
            customer_number=booking.customer,
            days=sorted({d.isoformat() for d in booking.days}),
            window_from=f"{booking.start:%H:%M}",
            window_to=f"{booking.end:%H:%M}",
            employees=booking.employees,
            minutes=round(booking.hours * 60),
            created_at=now,
        )
        session.add(row)
        session.flush()
        return _booking(row, {})

    def bookings(self, session: Session, customer_number: str | None = None) -> list[Booking]:
        """The bookings (of a customer), oldest first, with their cancelled days."""
        if customer_number is None:
            rows = session.execute(_ALL_BOOKINGS).all()
        else:
            rows = session.execute(_BOOKINGS_OF, {"customer": customer_number}).all()
        cancelled = self._cancellations(session, [row.id for row in rows])
        return [_booking(row, cancelled.get(row.id, {})) for row in rows]

    def booking(self, session: Session, booking_id: str, *, lock: bool = False) -> Booking | None:
        """One booking by its id (as `Booking.booking_id` gives it); None if there is none."""
        if not (booking_id.isascii() and booking_id.isdigit()) or int(booking_id) > MAX_ROW_ID:
            return None
        query = select(OnCallBookingRow).where(OnCallBookingRow.id == int(booking_id))
        if lock:  # two cancellations of one booking at once: one after the other
            query = query.with_for_update()
        row = session.scalars(query).first()
        if row is None:
            return None
        return _booking(row, self._cancellations(session, [row.id]).get(row.id, {}))

    def cancel_days(
        self, session: Session, booking_id: str, days: Iterable[date], now: datetime
    ) -> int:
        """Mark days of a booking cancelled at `now` (one already cancelled keeps its first
        time); how many were new."""
        have = self._cancellations(session, [int(booking_id)]).get(int(booking_id), {})
        new = sorted(set(days) - set(have))
        session.add_all(
            OnCallCancellationRow(booking_id=int(booking_id), day=day, cancelled_at=now)
            for day in new
        )
        session.flush()
        return len(new)

    def _cancellations(
        self, session: Session, booking_ids: list[int]
    ) -> dict[int, dict[date, datetime]]:
        found: dict[int, dict[date, datetime]] = {}
        for i in range(0, len(booking_ids), 500):  # bounded: SQLite limits bound parameters
            query = select(OnCallCancellationRow).where(
                OnCallCancellationRow.booking_id.in_(booking_ids[i : i + 500])
            )
            for row in session.scalars(query):
                found.setdefault(row.booking_id, {})[row.day] = row.cancelled_at
        return found


def _booking(row: OnCallBookingRow | Row[Any], cancelled: dict[date, datetime]) -> Booking:
    return Booking(
        customer=row.customer_number,
        days=tuple(date.fromisoformat(d) for d in row.days),
        start=time.fromisoformat(row.window_from),
        end=time.fromisoformat(row.window_to),
        employees=row.employees,
        hours=row.minutes / 60,
        booking_id=str(row.id),
        cancelled=tuple(sorted(cancelled.items())),
    )
