"""`entitlements setup-zammad`."""

from __future__ import annotations

import click

from adapter.errors import ApiError
from connectors.zammad.client import ZammadClient
from connectors.zammad.settings import zammad_settings
from connectors.zammad.setup import (
    create_attributes,
    create_webhook_and_triggers,
    flagging_defaults,
    group_warnings,
)
from mappings.plans import load_policy
from mappings.settings import load_settings
from mappings.yamlfile import FileErrors
from mappings.zammad import load_mapping


@click.command("setup-zammad")
@click.option(
    "--webhook-url",
    metavar="URL",
    help="Also create the signed webhook to this URL and its triggers.",
)
def setup_zammad(webhook_url: str | None) -> None:
    """Create the ticket and organisation fields in Zammad (idempotent)."""
    try:
        settings = load_settings()
        mapping = load_mapping(settings.mapping("zammad.yaml"))
        policy = load_policy(settings.mapping("plans.yaml"))
    except FileErrors as e:
        raise click.ClickException(f"configuration errors:\n{e}") from e
    zammad = zammad_settings(settings)
    if not zammad.connected:
        raise click.ClickException("set ENTITLEMENTS_ZAMMAD_URL and ENTITLEMENTS_ZAMMAD_TOKEN")
    if webhook_url and not zammad.webhook_secret:
        raise click.ClickException(
            "--webhook-url needs ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET (Zammad signs with it)"
        )
    client = ZammadClient(zammad.url or "", zammad.token or "")
    try:
        created = create_attributes(client, mapping)
        if webhook_url:
            created += create_webhook_and_triggers(client, webhook_url, zammad.webhook_secret or "")
        warnings = flagging_defaults(client.object_attributes(), mapping, policy)
        warnings += group_warnings(client, mapping)
    except ApiError as e:
        raise click.ClickException(f"Zammad answered: {e}") from e
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    for item in created:
        click.echo(f"created {item}")
    if not created:
        click.echo("nothing to do: everything exists")
    elif any(not c.startswith(("webhook", "trigger")) for c in created):
        click.echo(
            "migrations executed. Restart Zammad now (e.g. `systemctl restart zammad`): "
            "agents see the new fields only after a restart."
        )


@click.command()
@click.option("--language", type=click.Choice(["de", "en"]), help="Default: the LANGUAGE setting.")
def demo(language: str | None) -> None:
    """A month of tickets through the built-in Zammad stand-in, on a temporary database."""
    from standins import demo as scenario  # lazy: the stand-in and the rig, for the demo only

    scenario.run(language or load_settings().language)
