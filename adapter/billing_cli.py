"""`entitlements on-call`: book and list extended on-call."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

import click

from adapter.oncall import Booking, base_fee_lines, validate_booking


def _clock(_: Any, param: click.Parameter, value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a time of day HH:MM: {value!r}") from None


def _days(_: Any, param: click.Parameter, values: tuple[str, ...]) -> tuple[date, ...]:
    try:
        return tuple(date.fromisoformat(v) for v in values)
    except ValueError as e:
        raise click.BadParameter(f"not a date YYYY-MM-DD: {e}") from None


@click.group("on-call")
def on_call() -> None:
    """Extended on-call bookings (Erweiterte Rufbereitschaft)."""


@on_call.command("book")
@click.option("--customer", required=True, metavar="NUMBER", help="The customer number.")
@click.option(
    "--day", "days", required=True, multiple=True, callback=_days, help="YYYY-MM-DD; repeatable."
)
@click.option("--from", "start", required=True, callback=_clock, help="Window start, HH:MM.")
@click.option("--to", "end", required=True, callback=_clock, help="Window end, HH:MM.")
@click.option("--employees", required=True, type=int, help="Employees on call each day.")
@click.option(
    "--hours", required=True, type=float, help="Working hours booked per day, all employees."
)
@click.pass_obj
def book(
    ctx: Any,
    customer: str,
    days: tuple[date, ...],
    start: time,
    end: time,
    employees: int,
    hours: float,
) -> None:
    """Book on-call: at least 14 days ahead, at most 10 h a day, 8 h per employee and day."""
    booking = Booking(customer, days, start, end, employees, hours)
    tz = ctx.policy.calendar.time_zone
    now = datetime.now(UTC)
    errors = validate_booking(booking, today=now.astimezone(tz).date())
    if errors:
        for error in errors:
            click.echo(f"error: {error}", err=True)
        raise click.ClickException("the booking was not made")
    with ctx.store.session() as session:
        stored = ctx.store.add_booking(session, booking, now)
    fees = len(base_fee_lines(stored, tz, _prices(ctx)))
    click.echo(f"booked on-call {stored.booking_id} for {customer}: {fees} base fee(s)")


@on_call.command("list")
@click.option("--customer", metavar="NUMBER", help="Only this customer's bookings.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def list_bookings(ctx: Any, customer: str | None, fmt: str) -> None:
    """The stored bookings."""
    with ctx.store.session() as session:
        bookings = ctx.store.bookings(session, customer)
    if fmt == "json":
        click.echo(json.dumps([_jsonable(b) for b in bookings]))
        return
    for b in bookings:
        click.echo(
            f"{b.booking_id}  {b.customer}  {' '.join(map(str, b.days))}  "
            f"{b.start:%H:%M}–{b.end:%H:%M}  {b.employees} employee(s)  {b.hours:g} h/day"
        )


def _jsonable(b: Booking) -> dict[str, Any]:
    return {
        "id": b.booking_id,
        "customer": b.customer,
        "days": [d.isoformat() for d in b.days],
        "from": f"{b.start:%H:%M}",
        "to": f"{b.end:%H:%M}",
        "employees": b.employees,
        "hours": b.hours,
    }


def _prices(ctx: Any) -> Any:
    from adapter.cli import _or_exit
    from mappings.prices import load_prices

    return _or_exit(lambda: load_prices(ctx.settings.mapping("prices.yaml")))


COMMANDS = (on_call,)
