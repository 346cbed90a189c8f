"""Outbound clients, one package per outside system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapter.policy import Policy
    from adapter.settings import Settings


HELPDESKS = ("zammad",)  # the names of helpdesk connectors; a new helpdesk adds its name


def helpdesks(settings: Settings, policy: Policy) -> dict[str, Any]:
    """Every helpdesk connector, by name; a new helpdesk adds its line here."""
    from connectors.zammad.helpdesk import ZammadHelpdesk

    return {"zammad": ZammadHelpdesk.from_settings(settings, policy)}


def commands() -> list[Any]:
    """Command-line commands that connectors add to `entitlements`."""
    from connectors.erp.cli import sync_erp_command
    from connectors.zammad.cli import demo, setup_zammad

    return [demo, setup_zammad, sync_erp_command]


def periodic(settings: Settings) -> list[tuple[str, int, Any]]:
    """Jobs the worker runs on an interval: (name, seconds, run(services, now))."""
    jobs = []
    if settings.erp_url and settings.erp_token and settings.erp_sync_interval:
        from connectors.erp.cli import pull

        jobs.append(("erp.sync", settings.erp_sync_interval, pull))
    return jobs
