"""`entitlements statement`: a customer's monthly statement as HTML, PDF or CSV."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from adapter.cli_context import Context, or_exit, pass_context
from adapter.policy import LANGUAGES
from mappings.prices import load_prices

FORMATS = ("html", "pdf", "csv")


def _month(_: Any, param: click.Parameter, value: str) -> tuple[int, int]:
    from adapter.statement import parse_month  # lazy: jinja2 and the store, for this command

    try:
        return parse_month(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command("statement")
@click.option("--customer", required=True, metavar="NUMBER", help="The customer number.")
@click.option("--month", required=True, callback=_month, help="YYYY-MM, calendar time zone.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True)
@click.option("--language", type=click.Choice(LANGUAGES), help="Default: the LANGUAGE setting.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write to FILE instead of standard output.",
)
@pass_context
def statement(
    ctx: Context,
    customer: str,
    month: tuple[int, int],
    fmt: str,
    language: str | None,
    output: Path | None,
) -> None:
    """A customer's monthly statement, the document that goes with the invoice: tickets per
    quota period, billable tickets with their reasons, the month's billing lines with amounts
    and totals, on-call days and fees."""
    # lazy: jinja2, the store and (for a PDF) WeasyPrint, for this command only
    from adapter.statement import (
        PdfUnavailable,
        StatementError,
        build_statement,
        render_csv,
        render_html,
        render_pdf,
    )

    if fmt == "pdf" and output is None and sys.stdout.isatty():
        raise click.BadParameter("a PDF is binary: write it to a file", param_hint="--output")
    policy = ctx.policy
    prices = or_exit(lambda: load_prices(ctx.settings.mapping("prices.yaml")))
    today = datetime.now(UTC).astimezone(policy.calendar.time_zone).date()
    try:
        built = build_statement(
            ctx.store, policy, prices, customer, *month, language or ctx.settings.language, today
        )
    except StatementError as e:
        raise click.BadParameter(str(e), param_hint="--customer") from e
    if fmt == "csv":
        data = render_csv(built, policy).encode()
    else:
        html = render_html(built, policy)
        try:
            data = render_pdf(html) if fmt == "pdf" else html.encode()
        except PdfUnavailable as e:
            raise click.ClickException(str(e)) from e
    if output is not None:
        output.write_bytes(data)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(data, nl=False)  # bytes: written to the binary stream as they are
