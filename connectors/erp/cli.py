"""`entitlements sync-erp`, and the worker's periodic pull."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from adapter.cli_context import Context
from adapter.errors import ApiError
from adapter.services import Services, build_services
from connectors.erp.client import ErpClient, ErpNotConfigured
from connectors.erp.sync import SyncReport, sync_erp
from mappings.erp import load_erp_mapping_for


def pull(services: Services, now: datetime) -> SyncReport:
    """One pull from where the last one stopped (raises ErpNotConfigured, ApiError)."""
    mapping = load_erp_mapping_for(services.settings)
    with ErpClient.from_settings(services.settings, mapping) as client:
        return sync_erp(
            services.store, services.policy, client, mapping, now, helpdesks=services.helpdesks
        )


@click.command("sync-erp")
def sync_erp_command() -> None:
    """Pull licences from the ERP, page by page, from where the last pull stopped."""
    ctx = click.get_current_context().ensure_object(Context)
    services = build_services(ctx.settings, store=ctx.store)
    try:
        report = pull(services, datetime.now(UTC))
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
