"""`entitlements on-call`: book, list and cancel extended on-call; `entitlements billing
export`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import click

from adapter.billing import BillableLine
from adapter.cli_context import Context, or_exit
from adapter.csv_cells import neutralise
from adapter.limits import EARLIEST, LATEST, date_problem
from adapter.month_billing import month_billing_lines
from adapter.oncall import (
    Booking,
    base_fee_lines,
    cancellation_is_free,
    days_to_cancel,
    validate_booking,
)
from adapter.providers import ProviderError, enabled
from mappings.prices import load_prices

EXPORT_COLUMNS = (
    "line_id",
    "ticket",
    "contract",
    "code",
    "date",
    "start",
    "end",
    "surcharges",
    "half_hours",
    "amount",
    "currency",
    "customer",
    "unit_price",
    "period_from",
    "period_to",
)


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
    ctx: Context,
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
def list_bookings(ctx: Context, customer: str | None, fmt: str) -> None:
    """The stored bookings."""
    with ctx.store.session() as session:
        bookings = ctx.store.bookings(session, customer)
    if fmt == "json":
        click.echo(json.dumps([_jsonable(b) for b in bookings]))
        return
    for b in bookings:
        cancelled = f"  cancelled: {' '.join(map(str, b.cancelled_on))}" if b.cancelled else ""
        click.echo(
            f"{b.booking_id}  {b.customer}  {' '.join(map(str, b.days))}  "
            f"{b.start:%H:%M}–{b.end:%H:%M}  {b.employees} employee(s)  {b.hours:g} h/day"
            f"{cancelled}"
        )


@on_call.command("cancel")
@click.argument("booking_id")
@click.option(
    "--day", "days", multiple=True, callback=_days, help="YYYY-MM-DD; repeatable. Default: all."
)
@click.pass_obj
def cancel(ctx: Context, booking_id: str, days: tuple[date, ...]) -> None:
    """Cancel a booking's days (default: every day whose window has not begun). Free when
    cancelled at least prices.yaml's `on_call.cancellation.free_days_ahead` days ahead (14);
    later, each employee's base fee is billed at its `late_percent` (100)."""
    tz = ctx.policy.calendar.time_zone
    prices = _prices(ctx)
    now = datetime.now(UTC)
    with ctx.store.session() as session:
        booking = ctx.store.booking(session, booking_id, lock=True)
        if booking is None:
            raise click.ClickException(f"no on-call booking {booking_id}")
        wanted, errors = days_to_cancel(booking, days, now, tz)
        if errors:
            for error in errors:
                click.echo(f"error: {error}", err=True)
            raise click.ClickException("nothing was cancelled")
        ctx.store.cancel_days(session, booking_id, wanted, now)
    if not wanted:
        click.echo(f"on-call {booking_id}: nothing left to cancel")
        return
    free = [d for d in wanted if cancellation_is_free(d, now, tz, prices)]
    late = [d for d in wanted if d not in free]
    click.echo(
        f"cancelled on-call {booking_id} on {', '.join(map(str, wanted))}: "
        f"{len(free)} day(s) free, {len(late) * booking.employees} cancellation fee(s)"
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
        "cancelled": {d.isoformat(): at.isoformat() for d, at in b.cancelled},
    }


def _prices(ctx: Context) -> Any:
    return or_exit(lambda: load_prices(ctx.settings.mapping("prices.yaml")))


def _month(_: Any, param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        day = date.fromisoformat(f"{value}-01")
    except ValueError:
        raise click.BadParameter(f"not a month YYYY-MM: {value!r}") from None
    if date_problem(day):
        first, last = f"{EARLIEST:%Y-%m}", f"{LATEST:%Y-%m}"
        raise click.BadParameter(f"must lie between {first} and {last}, not {value!r}")
    return day.year, day.month


@click.group("billing")
def billing() -> None:
    """Billable lines of paid services."""


@billing.command("export")
@click.option("--month", required=True, callback=_month, help="YYYY-MM, calendar time zone.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--push", is_flag=True, help="Push the lines not pushed yet to the ERP instead.")
@click.pass_obj
def export(ctx: Context, month: tuple[int, int], fmt: str, push: bool) -> None:
    """The month's billing lines, computed from the stored work items, on-call bookings and
    contracts, and the current prices: work, on-call base fees, support fees.

    Line ids depend on what a line bills only, so exporting a month again names the same
    lines, and `--push` never sends a line the ERP has accepted before."""
    policy, prices = ctx.policy, _prices(ctx)
    with ctx.store.session() as session:
        lines = month_billing_lines(ctx.store, session, policy, prices, *month)
    rows = [_row(line, policy.calendar.time_zone) for line in lines]
    if push:
        _push(ctx, rows)
        return
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(lines_csv(rows), nl=False)


def lines_csv(rows: list[dict[str, Any]]) -> str:
    """The lines as CSV, every cell safe to open in a spreadsheet (`neutralise`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, EXPORT_COLUMNS, lineterminator="\n")
    # Python before 3.11.9 leaves a bare CR unquoted under QUOTE_MINIMAL (CPython gh-67044):
    # readers then split the row there. Such rows are written with every cell quoted.
    quoted = csv.DictWriter(out, EXPORT_COLUMNS, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for r in rows:
        cells = {**r, "surcharges": "+".join(r["surcharges"])}
        safe = {name: neutralise(cell) for name, cell in cells.items()}
        has_cr = any(isinstance(cell, str) and "\r" in cell for cell in safe.values())
        (quoted if has_cr else writer).writerow(safe)
    return out.getvalue()


def _push(ctx: Context, rows: list[dict[str, Any]]) -> None:
    pushes = {p.key: p.billing_push for p in enabled(ctx.settings) if p.billing_push}
    if len(pushes) != 1:
        which = ", ".join(pushes) or "none"
        raise click.ClickException(f"one enabled provider must take billing lines, not: {which}")
    (push,) = pushes.values()
    try:
        click.echo(or_exit(lambda: push(ctx.settings, ctx.store, rows)))
    except ProviderError as e:
        raise click.ClickException(str(e)) from e


def _row(line: BillableLine, tz: Any) -> dict[str, Any]:
    """A line as the export's row: `half_hours` only for work (JSON null, CSV empty
    otherwise), `start` and `end` for work and on-call days (the window), `period_from` and
    `period_to` for support fees."""
    start = line.start.astimezone(tz)
    end = (line.start + timedelta(minutes=line.minutes)).astimezone(tz)
    timed = line.unit in ("half_hour", "day")
    period = line.period
    return {
        "line_id": line.line_id,
        "ticket": line.ticket,
        "contract": line.contract or "",
        "code": line.code,
        "date": start.date().isoformat(),
        "start": f"{start:%H:%M}" if timed else "",
        "end": f"{end:%H:%M}" if timed else "",
        "surcharges": list(line.surcharges),
        "half_hours": line.quantity if line.unit == "half_hour" else None,
        "amount": str(line.amount) if line.amount is not None else "",
        "currency": line.currency or "",
        "customer": line.customer or "",
        "unit_price": str(line.unit_price) if line.unit_price is not None else "",
        "period_from": period[0].isoformat() if period else "",
        "period_to": period[1].isoformat() if period else "",
    }


COMMANDS = (on_call, billing)
