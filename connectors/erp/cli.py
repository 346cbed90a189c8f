"""`entitlements pull-erp`, and the worker's periodic pull."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from adapter.cli_context import Context
from adapter.errors import ApiError
from adapter.services import Services, build_services
from connectors.erp.client import ErpClient, ErpNotConfigured
from connectors.erp.pull import PullReport, pull_erp
from mappings.erp import load_erp_mapping_for


def pull_once(services: Services, now: datetime) -> PullReport:
    """One pull from where the last one stopped (raises ErpNotConfigured, ApiError)."""
    mapping = load_erp_mapping_for(services.settings)
    with ErpClient.from_settings(services.settings, mapping) as client:
        return pull_erp(
            services.store, services.policy, client, mapping, now, helpdesks=services.helpdesks
        )


@click.command("pull-erp")
def pull_erp_command() -> None:
    """Pull licences from the ERP, page by page, from where the last pull stopped."""
    ctx = click.get_current_context().ensure_object(Context)
    services = build_services(ctx.settings, store=ctx.store)
    try:
        report = pull_once(services, datetime.now(UTC))
    except (ErpNotConfigured, ApiError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(
        f"{report.pages} page(s): created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, stale {report.stale}, invalid {report.invalid}"
    )
    for problem in report.problems:
        click.echo(f"invalid: {problem}", err=True)
    if report.changed_customers:
        click.echo(f"{len(report.changed_customers)} customer(s) queued to be decided again")


# The command's name before "pull" became the one name for the ERP pull: hidden from --help,
# and it says that it is deprecated, but scripts that call it keep working.
sync_erp_alias = click.Command(
    "sync-erp",
    callback=pull_erp_command.callback,
    help="Deprecated name of pull-erp.",
    hidden=True,
    deprecated=True,
)
