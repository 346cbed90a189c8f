"""`entitlements setup-rt`."""

from __future__ import annotations

from pathlib import Path

import click

from adapter.errors import ApiError
from connectors.rt.client import RtClient
from connectors.rt.settings import RtSettings, rt_settings
from connectors.rt.setup import SetupError, create_fields, initialdata, unapplied
from mappings.rt import load_mapping
from mappings.settings import load_settings
from mappings.yamlfile import FileErrors


def client_of(settings: RtSettings) -> RtClient:
    if not settings.configured:
        raise click.ClickException(
            "set ENTITLEMENTS_RT_URL and ENTITLEMENTS_RT_TOKEN "
            "(or ENTITLEMENTS_RT_USER and ENTITLEMENTS_RT_PASSWORD)"
        )
    return settings.client()


@click.command("setup-rt")
@click.option(
    "--webhook-url",
    metavar="URL",
    help="The adapter's /webhooks/rt as RT reaches it: also write the initialdata file with the "
    "Scrip that posts to it.",
)
@click.option(
    "--initialdata",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("entitlements-rt.initialdata"),
    show_default=True,
    help="Where to write the initialdata file.",
)
def setup_rt(webhook_url: str | None, path: Path) -> None:
    """Create the custom fields in RT (idempotent) and write the initialdata file that applies
    them to the support queues and installs the notifying Scrip."""
    try:
        settings = load_settings()
        mapping = load_mapping(settings.mapping("rt.yaml"))
    except FileErrors as e:
        raise click.ClickException(f"configuration errors:\n{e}") from e
    rt = rt_settings(settings)
    if webhook_url and not rt.webhook_secret:
        raise click.ClickException(
            "--webhook-url needs ENTITLEMENTS_RT_WEBHOOK_SECRET (the Scrip signs with it)"
        )
    client = client_of(rt)
    try:
        done = create_fields(client, mapping)
        problems = unapplied(client, mapping)
        adapter_user = client.me()["Name"] if webhook_url else ""
    except SetupError as e:
        raise click.ClickException(str(e)) from e
    except ApiError as e:
        raise click.ClickException(f"RT answered: {e}") from e
    for item in done:
        click.echo(f"created {item}")
    if not done:
        click.echo("custom fields: nothing to do, everything exists")
    if webhook_url:
        path.write_text(initialdata(mapping, webhook_url, rt.webhook_secret or "", adapter_user))
        path.chmod(0o600)  # it holds the webhook secret
        click.echo(
            f"wrote {path}: load it on the RT host (as root) with\n"
            f"  rt-setup-database --action insert --datafile {path.resolve()}\n"
            "(Debian: rt-setup-database-5), then delete it: it holds the webhook secret."
        )
    for problem in problems:
        click.echo(f"warning: {problem} (loading the initialdata file applies it)", err=True)
