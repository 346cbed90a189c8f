"""Zammad, as the core finds it (entry point `zammad`)."""

from __future__ import annotations

from adapter.providers import Provider
from connectors.zammad import openapi
from connectors.zammad.cli import demo, setup_zammad
from connectors.zammad.helpdesk import ZammadHelpdesk
from connectors.zammad.settings import ZammadSettingsSchema, unsigned_webhooks
from connectors.zammad.setup import installed_warnings
from mappings.zammad import HELPDESK, load_mapping
from webhooks import zammad as webhook

PROVIDER = Provider(
    key=HELPDESK,
    title="Zammad",
    settings=ZammadSettingsSchema,
    problems=unsigned_webhooks,
    mapping_file="zammad.yaml",
    load_mapping=load_mapping,
    blueprint=webhook.bp,
    openapi=openapi.paths,
    helpdesk=ZammadHelpdesk.from_settings,
    commands=lambda: (setup_zammad, demo),
    warnings=installed_warnings,
)
