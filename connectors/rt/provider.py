"""Request Tracker 5, as the core finds it (entry point `rt`)."""

from __future__ import annotations

from adapter.providers import Provider
from connectors.rt import openapi
from connectors.rt.cli import setup_rt
from connectors.rt.helpdesk import RtHelpdesk
from connectors.rt.settings import RtSettingsSchema, unsigned_webhooks
from connectors.rt.setup import installed_warnings
from mappings.rt import HELPDESK, load_mapping
from webhooks import rt as webhook

PROVIDER = Provider(
    key=HELPDESK,
    title="Request Tracker",
    settings=RtSettingsSchema,
    problems=unsigned_webhooks,
    mapping_file="rt.yaml",
    load_mapping=load_mapping,
    blueprint=webhook.bp,
    openapi=openapi.paths,
    helpdesk=RtHelpdesk.from_settings,
    commands=lambda: (setup_rt,),
    warnings=installed_warnings,
)
