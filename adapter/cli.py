"""The `entitlements` command line."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from adapter import billing_cli, contracts_cli, licences, statement_cli
from adapter.cli_context import Context, or_exit, pass_context
from adapter.errors import ApiError
from adapter.explain import ExplainError, ExplainQuestion, explain_ticket, render_text
from adapter.limits import date_problem
from adapter.logs import configure_logging
from adapter.policy import CATEGORIES, LANGUAGES, REQUESTERS
from adapter.providers import ProviderError, enabled, helpdesk_keys, installed
from adapter.server import REQUEST_THREADS, ServeError, WebServer
from adapter.settings import PREFIX
from mappings.check import check_all
from mappings.settings import load_settings, prefix_of
from mappings.yamlfile import FileErrors


class Main(click.Group):
    """The core's commands and those of every installed provider (also of a disabled one:
    setting a provider up comes before enabling it). Providers are loaded on first use, so
    importing this module loads none."""

    @functools.cached_property
    def provider_commands(self) -> dict[str, click.Command]:
        found: dict[str, click.Command] = {}
        owner: dict[str, str] = {}
        try:
            providers = installed()
        except ProviderError as e:
            raise click.ClickException(str(e)) from e
        for provider in providers.values():
            for command in provider.commands():
                name = command.name or ""
                if name in self.commands or name in found:
                    other = f"provider {owner[name]}'s" if name in owner else "the core's"
                    raise click.ClickException(
                        f"provider {provider.key}'s command {name} clashes with {other}"
                    )
                found[name] = command
                owner[name] = provider.key
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.provider_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self.provider_commands.get(cmd_name)


@click.group(cls=Main)
@click.version_option(package_name="helpdesk-entitlements")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Support-contract entitlements on helpdesk tickets."""
    ctx.ensure_object(Context)


@main.command()
@pass_context
def check(ctx: Context) -> None:
    """Validate the settings and every mapping file; errors name file, line and field."""
    problems = 0
    try:
        settings = load_settings()
    except FileErrors as e:
        for error in e.errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    for name, errors in check_all(settings):
        if errors:
            problems += len(errors)
            for error in errors:
                click.echo(f"error: {error}", err=True)
        else:
            click.echo(f"ok: {name}")
    on = enabled(settings)
    # E.g. what is installed in a configured helpdesk: a default that flags everyone.
    for provider in on:
        for warning in provider.warnings(settings):
            click.echo(f"warning: {warning}", err=True)
    for provider in installed().values():
        if provider not in on:
            prefix = f"{PREFIX}_{prefix_of(provider)}"
            for name in sorted(n for n in os.environ if n.startswith(prefix)):
                click.echo(f"warning: {name} is ignored: {provider.key} is not enabled", err=True)
    if problems:
        raise click.ClickException(f"{problems} error(s)")


Day = TypeVar("Day", date, datetime)


def _date(_: Any, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date YYYY-MM-DD: {value!r}") from None
    return _in_range(day)


def _instant_or_none(ctx: Any, param: click.Parameter, value: str | None) -> datetime | None:
    return None if value is None else _instant(ctx, param, value)


def _instant(_: Any, param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 date and time: {value!r}") from None
    if at.tzinfo is None:
        raise click.BadParameter("needs a UTC offset, e.g. 2026-11-20T17:05:00+01:00 or …Z")
    return _in_range(at)


def _in_range(value: Day) -> Day:
    """A date or date-time within `adapter.limits`' years; click names the option."""
    problem = date_problem(value)
    if problem:
        raise click.BadParameter(problem)
    return value


# How explain's errors name its inputs.
EXPLAIN_OPTIONS = {
    "customer": "--customer NUMBER",
    "plan": "--plan",
    "purchased": "--purchased DATE",
}


@main.command()
@click.option("--customer", metavar="NUMBER", help="Use this customer's contracts from the store.")
@click.option("--plan", metavar="PLAN", help="Or describe a contract: commissioning, basic or pro.")
@click.option("--purchased", callback=_date, metavar="DATE", help="Licence purchase date.")
@click.option("--accepted", callback=_date, metavar="DATE", help="Acceptance date (commissioning).")
@click.option(
    "--go-live", "go_live", callback=_date, metavar="DATE", help="Go-live date (commissioning)."
)
@click.option("--cancelled", callback=_date, metavar="DATE", help="Notice given on this date.")
@click.option("--option", "options", multiple=True, type=click.Choice(["third_party_projects"]))
@click.option(
    "--created",
    callback=_instant,
    metavar="DATETIME",
    help="Ticket creation, ISO 8601 with offset (default: now).",
)
@click.option("--category", "categories", multiple=True, type=click.Choice(CATEGORIES))
@click.option(
    "--service",
    metavar="NAME",
    help="The project service's name (with --category project_service).",
)
@click.option("--remote-sessions", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--requester", type=click.Choice(REQUESTERS), default="partner", show_default=True)
@click.option(
    "--untrained", is_flag=True, help="The requester has not passed the vendor's training."
)
@click.option(
    "--used", type=click.IntRange(min=0), help="Tickets already counted in the ticket's period."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--language", type=click.Choice(LANGUAGES), help="Default: the LANGUAGE setting.")
@pass_context
def explain(
    ctx: Context,
    customer: str | None,
    plan: str | None,
    purchased: date | None,
    accepted: date | None,
    go_live: date | None,
    cancelled: date | None,
    options: tuple[str, ...],
    created: datetime,
    categories: tuple[str, ...],
    service: str | None,
    remote_sessions: int,
    requester: str,
    untrained: bool,
    used: int | None,
    fmt: str,
    language: str | None,
) -> None:
    """The decision for a hypothetical ticket (a what-if)."""
    question = ExplainQuestion(
        created=created,
        customer=customer,
        plan=plan,
        purchased=purchased,
        accepted=accepted,
        go_live=go_live,
        cancelled=cancelled,
        options=options,
        categories=frozenset(categories),
        service=service,
        remote_sessions=remote_sessions,
        requester=requester,
        untrained=untrained,
        used=used,
        language=language,
    )
    policy = ctx.policy
    try:
        decision, facts = explain_ticket(
            question,
            policy,
            lambda: ctx.store,  # a described contract needs no database
            default_language=ctx.settings.language,
            name=EXPLAIN_OPTIONS.__getitem__,
        )
    except ExplainError as e:
        raise click.UsageError(str(e)) from None
    if fmt == "json":
        click.echo(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(decision, facts, policy, language or ctx.settings.language))


@main.command("import-licences")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_licences(ctx: Context, file: Path) -> None:
    """Import licences from a CSV or JSON file (all or nothing)."""
    try:
        report = licences.import_licences(ctx.store, ctx.policy, file, helpdesk_keys(ctx.settings))
    except FileErrors as e:
        for error in e.errors:
            click.echo(f"error: {error}", err=True)
        raise click.ClickException(f"{len(e.errors)} error(s); nothing was imported") from None
    click.echo(
        f"created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, stale {report.stale}"
    )
    for licence_id in report.conflicts:
        click.echo(
            f"warning: {licence_id}: same revision with different content; kept the stored one"
        )


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
@pass_context
def upgrade(ctx: Context) -> None:
    """Apply all migrations."""
    from adapter.store import upgrade as run  # lazy: SQLAlchemy only for database commands

    migrated = run(ctx.settings.database_url)
    if migrated.before == migrated.after:
        click.echo(f"database already at revision {migrated.after}, the newest: nothing to do")
    elif migrated.before is None:
        click.echo(f"database created at revision {migrated.after}, the newest")
    else:
        click.echo(
            f"database upgraded from revision {migrated.before} to {migrated.after}, the newest"
        )


def _services(ctx: Context) -> Any:
    from adapter.services import build_services  # lazy: SQLAlchemy only for database commands

    ctx.store  # noqa: B018 - refuses an unmigrated database with advice
    return or_exit(lambda: build_services(ctx.settings, store=ctx.store))


def _configure_logging(ctx: Context) -> None:
    """JSON lines on stderr for the long-running commands (one-shot commands keep plain text)."""
    configure_logging(ctx.settings.log_level)


def _until_signalled() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--threads",
    default=REQUEST_THREADS,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Request threads (the worker has WORKER_THREADS of its own).",
)
@pass_context
def serve(ctx: Context, host: str, port: int, threads: int) -> None:
    """Web (webhooks, health) and an embedded worker in one process, on waitress."""
    # lazy: the web tier and the worker load for the commands that run them
    from adapter.app import ConfigError, create_app
    from adapter.worker import start_threads

    _configure_logging(ctx)
    services = _services(ctx)
    try:
        app = create_app(services=services)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    try:
        server = WebServer(
            app, host, port, max_body_bytes=ctx.settings.max_body_bytes, threads=threads
        )
    except ServeError as e:
        raise click.ClickException(str(e)) from e
    stop = _until_signalled()
    workers = start_threads(services, stop, ctx.settings.worker_threads)
    urls = ", ".join(f"http://{f'[{h}]' if ':' in h else h}:{p}" for h, p in server.addresses)
    click.echo(f"serving on {urls} with an embedded worker")
    server.serve_until(stop)  # returns once SIGTERM or SIGINT came and requests were answered
    for thread in workers:
        thread.join(timeout=10)


@main.command()
@pass_context
def worker(ctx: Context) -> None:
    """The worker alone (several may run against PostgreSQL, with gunicorn in front)."""
    from adapter.worker import start_threads  # lazy: as in serve

    _configure_logging(ctx)
    services = _services(ctx)
    if ctx.settings.metrics_port:
        from adapter.metrics import serve_worker_metrics  # lazy: prometheus only when asked

        serve_worker_metrics(ctx.settings.metrics_host, ctx.settings.metrics_port)
    stop = _until_signalled()
    threads = start_threads(services, stop, ctx.settings.worker_threads)
    click.echo(f"worker running ({len(threads)} threads)")
    stop.wait()
    for thread in threads:
        thread.join(timeout=10)


@main.command()
@click.option(
    "--before",
    callback=_instant_or_none,
    metavar="DATETIME",
    help="Processed before this (ISO 8601 with offset); default: RETENTION_DAYS ago.",
)
@pass_context
def purge(ctx: Context, before: datetime | None) -> None:
    """Delete the webhook payloads (personal data) of inbox rows already processed."""
    cutoff = before or datetime.now(UTC) - timedelta(days=ctx.settings.retention_days)
    count = ctx.store.purge_payloads(cutoff)
    click.echo(f"purged {count} payload(s) processed before {cutoff.isoformat(timespec='seconds')}")


@main.group("dead-letters")
def dead_letters() -> None:
    """What could not be processed or delivered."""


@dead_letters.command("list")
@pass_context
def dead_letters_list(ctx: Context) -> None:
    store = ctx.store
    with store.session() as session:
        letters = store.dead_letters(session)
    if not letters:
        click.echo("no dead letters")
    for d in letters:
        click.echo(
            f"{d.key}\t{d.helpdesk} ticket {d.ticket_id}\t{d.attempts} attempt(s), "
            f"last {d.since:%Y-%m-%d %H:%M}Z\t{d.last_error}"
        )


@dead_letters.command("retry")
@click.argument("key", metavar="ID")
@pass_context
def dead_letters_retry(ctx: Context, key: str) -> None:
    """Put a dead letter (ID as listed, e.g. outbox-7) back in its queue, history kept."""
    from adapter.admin import parse_dead_letter_key, retry_dead_letter  # lazy: SQLAlchemy

    if parse_dead_letter_key(key) is None:
        raise click.BadParameter("an ID as listed, e.g. outbox-7 or inbox-3", param_hint="ID")
    if not retry_dead_letter(ctx.store, key, datetime.now(UTC)):
        raise click.ClickException(f"{key} is not a dead letter")
    click.echo(f"{key} is queued again")


for billing_command in billing_cli.COMMANDS:
    main.add_command(billing_command)
for contracts_command in contracts_cli.COMMANDS:
    main.add_command(contracts_command)
main.add_command(statement_cli.statement)


@main.command()
@click.option(
    "--since",
    callback=_instant_or_none,
    metavar="DATETIME",
    help="Changed since (ISO 8601 with offset); default: where the last run stopped.",
)
@click.option("--helpdesk", "only", metavar="KEY", help="Only this helpdesk (default: every one).")
@pass_context
def reconcile(ctx: Context, since: datetime | None, only: str | None) -> None:
    """Catch up on tickets changed in the helpdesk while the adapter was not listening."""
    from adapter.worker import Worker  # lazy: as in serve

    services = _services(ctx)
    helpdesks = list(services.helpdesks.values())
    if only is not None:
        if only not in services.helpdesks:
            known = ", ".join(services.helpdesks) or "none"
            why = (
                "enabled but not configured (its settings are missing, see `entitlements check`)"
                if only in helpdesk_keys(services.settings)
                else "not an enabled helpdesk"
            )
            raise click.BadParameter(f"{only}: {why}; configured: {known}", param_hint="--helpdesk")
        helpdesks = [services.helpdesks[only]]
    now = datetime.now(UTC)
    for helpdesk in helpdesks:
        try:
            new = helpdesk.reconcile(services.store, now, since)
        except ApiError as e:
            raise click.ClickException(f"{helpdesk.name}: {e}") from e
        click.echo(f"{helpdesk.name}: {new} change(s) queued")
    Worker(services).drain()
    click.echo("processed")


# A replay of fewer tickets than this is over before a progress bar would tell anything.
PROGRESS_FROM = 50


@main.command()
@click.option(
    "--since",
    callback=_instant_or_none,
    metavar="DATETIME",
    help="Tickets created at or after (ISO 8601 with offset).",
)
@click.option(
    "--until",
    callback=_instant_or_none,
    metavar="DATETIME",
    help="Tickets created before (ISO 8601 with offset).",
)
@click.option("--customer", metavar="NUMBER", help="Only this customer's tickets.")
@click.option(
    "--apply",
    is_flag=True,
    help="Record the changed decisions and queue their write-back (default: a dry run).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_context
def replay(
    ctx: Context,
    since: datetime | None,
    until: datetime | None,
    customer: str | None,
    apply: bool,
    fmt: str,
) -> None:
    """Decide stored tickets again under the current policy and contracts; report what would
    change. Without --since, --until or --customer: every ticket with a decision."""
    # lazy: SQLAlchemy only for database commands
    from adapter.replay import Replay, ReplayRequest, describe
    from mappings.admin import ReplayReportSchema

    if since and until and until <= since:
        raise click.BadParameter("must be after --since", param_hint="--until")
    services = _services(ctx)
    request = ReplayRequest(since, until, customer, apply)
    run = Replay(services, request, origin="cli", now=datetime.now(UTC))
    candidates = run.select()
    with click.progressbar(
        candidates,
        label="deciding again",
        file=sys.stderr,  # stdout carries the report
        hidden=len(candidates) < PROGRESS_FROM,
    ) as tickets:
        report = run.run(tickets)
    for skipped in report.skipped:
        click.echo(f"skipped {skipped.helpdesk} #{skipped.ticket_id}: {skipped.reason}", err=True)
    if fmt == "json":
        dumped = ReplayReportSchema().dump(report)
        click.echo(json.dumps(dumped, indent=2, ensure_ascii=False))
        return
    for result in report.changed:
        click.echo(describe(result))
    changed = len(report.changed)
    if apply:
        click.echo(
            f"{report.tickets} ticket(s) decided again; {changed} changed, recorded and queued "
            "for write-back (the worker delivers them)"
        )
    else:
        click.echo(
            f"{report.tickets} ticket(s) decided again; {changed} would change "
            "(dry run: nothing written; --apply to record and write back)"
        )
