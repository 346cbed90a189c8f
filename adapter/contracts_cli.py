"""`entitlements contracts due`: notice deadlines and contract ends coming up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from adapter.cli_context import Context
from adapter.renewals import WINDOW, Due, contracts_due, parse_within
from mappings.admin import ContractsDueSchema


def _within(_: Any, param: click.Parameter, value: str) -> int:
    try:
        return parse_within(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.group("contracts")
def contracts() -> None:
    """Support contracts."""


@contracts.command("due")
@click.option(
    "--within",
    "days",
    default=WINDOW,
    show_default=True,
    callback=_within,
    help="The window from today: days (90d) or weeks (12w).",
)
@click.option("--customer", metavar="NUMBER", help="Only this customer's contracts.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def due(ctx: Context, days: int, customer: str | None, fmt: str) -> None:
    """Contracts whose notice deadline or end falls in the window (today in the calendar's
    time zone, both ends included), soonest first. An end that renews says until when."""
    today, found = contracts_due(ctx.store, ctx.policy, datetime.now(UTC), days, customer)
    if fmt == "json":
        answer = ContractsDueSchema().dump({"today": today, "within_days": days, "due": found})
        click.echo(json.dumps(answer, indent=2))  # as GET /api/v1/contracts/due answers
        return
    if not found:
        click.echo(f"nothing due from {today} to {today + timedelta(days=days)}")
    for d in found:
        click.echo(describe(d))


def describe(d: Due) -> str:
    """One line for people, e.g. `2026-09-30  notice  LIC-1  C-100 Awesome Inc.  basic  ...`."""
    who = (
        f"{d.contract.customer_number} {d.customer_name}"
        if d.customer_name
        else d.contract.customer_number
    )
    if d.what == "notice":
        what = f"last day to give notice; otherwise it renews until {d.renews_until}"
    elif d.renews_until:
        what = f"the term ends and renews until {d.renews_until}"
    else:
        what = "ends"
    return f"{d.on}  {d.what:<6}  {d.contract.id}  {who}  {d.contract.plan}  {what}"


COMMANDS = (contracts,)
