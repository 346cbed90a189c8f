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
    from connectors.zammad.cli import demo, setup_zammad

    return [demo, setup_zammad]
