"""Mixed into `Store`: extended on-call bookings, as domain `Booking`s."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapter.oncall import Booking
from adapter.store.models import OnCallBookingRow


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
        return _booking(row)

    def bookings(self, session: Session, customer_number: str | None = None) -> list[Booking]:
        query = select(OnCallBookingRow).order_by(OnCallBookingRow.id)
        if customer_number is not None:
            query = query.where(OnCallBookingRow.customer_number == customer_number)
        return [_booking(row) for row in session.scalars(query)]


def _booking(row: OnCallBookingRow) -> Booking:
    return Booking(
        customer=row.customer_number,
        days=tuple(date.fromisoformat(d) for d in row.days),
        start=time.fromisoformat(row.window_from),
        end=time.fromisoformat(row.window_to),
        employees=row.employees,
        hours=row.minutes / 60,
        booking_id=str(row.id),
    )
