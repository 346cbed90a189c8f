"""`entitlements on-call`: book and list extended on-call; `entitlements billing export`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import click

from adapter.billing import BillableLine, month_lines, month_window
from adapter.cli_context import Context, or_exit
from adapter.csv_cells import neutralise
from adapter.limits import EARLIEST, LATEST, date_problem
from adapter.oncall import Booking, base_fee_lines, validate_booking
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
    """The month's billable lines, computed from the stored work items and the current prices.

    Line ids depend on the work only, so exporting a month again names the same lines, and
    `--push` never sends a line the ERP has accepted before."""
    calendar, prices = ctx.policy.calendar, _prices(ctx)
    start, end = month_window(*month, calendar)
    with ctx.store.session() as session:
        # A day earlier: work begun before the month can run into it.
        works = ctx.store.work(session, start - timedelta(days=1), end)
    rows = [_row(line, calendar.time_zone) for line in month_lines(works, *month, calendar, prices)]
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
    start = line.start.astimezone(tz)
    end = (line.start + timedelta(minutes=line.minutes)).astimezone(tz)
    return {
        "line_id": line.line_id,
        "ticket": line.ticket,
        "contract": line.contract or "",
        "code": line.code,
        "date": start.date().isoformat(),
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "surcharges": list(line.surcharges),
        "half_hours": line.quantity,
        "amount": str(line.amount) if line.amount is not None else "",
        "currency": line.currency or "",
    }


COMMANDS = (on_call, billing)
