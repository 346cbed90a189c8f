"""The ERP, as the core finds it (entry point `erp`): licences pulled on the worker's interval
and by `entitlements pull-erp`, billing lines pushed by `entitlements billing export --push`.
Its licence push comes in through `webhooks/erp.py`."""

from __future__ import annotations

from adapter.providers import Job, Provider
from adapter.settings import Settings
from connectors.erp import openapi
from connectors.erp.billing import push_billing_lines
from connectors.erp.cli import pull_erp_command, pull_once, sync_erp_alias
from connectors.erp.settings import KEY, ErpSettingsSchema, deprecated_names, erp_settings
from mappings.erp import load_erp_mapping
from webhooks import erp as webhook


def jobs(settings: Settings) -> list[Job]:
    erp = erp_settings(settings)
    return [] if erp.unset() else [Job("erp.pull", erp.pull_interval, pull_once)]


PROVIDER = Provider(
    key=KEY,
    title="ERP",
    settings=ErpSettingsSchema,
    mapping_file="erp.yaml",
    load_mapping=load_erp_mapping,
    blueprint=webhook.bp,
    openapi=openapi.paths,
    commands=lambda: (pull_erp_command, sync_erp_alias),
    jobs=jobs,
    warnings=deprecated_names,
    billing_push=push_billing_lines,
)
