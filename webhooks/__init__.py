"""Inbound HTTP: one blueprint module per sender. Thin: verify, parse, store, answer."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    """Every sender's blueprint; a new helpdesk adds its module here."""
    from webhooks import erp, openapi, zammad

    return [zammad.bp, erp.bp, openapi.bp]
