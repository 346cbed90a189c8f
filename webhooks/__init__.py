"""Inbound HTTP: one blueprint module per sender. Thin: verify, parse, store, answer."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    """Every sender's blueprint; a new helpdesk adds its module here."""
    from adapter import admin_page
    from webhooks import admin, erp, openapi, zammad

    return [zammad.bp, erp.bp, openapi.bp, admin.bp, admin_page.bp]
