"""The web core: the admin API, the OpenAPI document, the one error shape, shared-secret checks
and the throttle of wrong tokens. The senders' blueprints (`webhooks/`) come with the
providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:  # only named here: the web core must not import what it is wired to
    from adapter.services import Services

EXTENSION = "entitlements"  # where `init_app` keeps the app's Services


def services() -> Services:
    """The Services of the app that handles the current request."""
    return current_app.extensions[EXTENSION]
