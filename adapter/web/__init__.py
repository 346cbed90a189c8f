"""The web core: the admin API, the OpenAPI document, the one error shape, shared-secret checks
and the throttle of wrong tokens. The senders' blueprints (`webhooks/`) come with the
providers."""
