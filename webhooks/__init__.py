"""Inbound HTTP from outside systems: one blueprint module per sender, which its provider
declares (`Provider.blueprint`). Thin: verify, parse, store, answer. What every endpoint shares
is in `adapter/web/`."""
