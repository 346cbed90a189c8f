"""The Flask app factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from adapter.services import Services, build_services
from adapter.settings import Settings
from mappings.settings import load_settings


class ConfigError(RuntimeError):
    pass


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    settings = services.settings if services else settings or load_settings()
    if not settings.zammad_webhook_secret and not settings.insecure_no_signature:
        raise ConfigError(
            "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET is not set: webhooks could not be verified "
            "(set ENTITLEMENTS_INSECURE_NO_SIGNATURE=1 only for a local trial)"
        )
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config.update(test_config or {})
    init_app(app, services or build_services(settings))
    if settings.trusted_proxies:
        # Believe that many hops of X-Forwarded-For (the client's address, for the throttle
        # and the logs) and X-Forwarded-Proto (https: the admin cookie is then Secure).
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def init_app(app: Flask, services: Services) -> None:
    from adapter import health, metrics
    from webhooks import blueprints, errors, throttle

    app.extensions["entitlements"] = services
    settings = services.settings
    app.extensions[throttle.EXTENSION] = throttle.FailureThrottle(
        settings.auth_failure_limit, settings.auth_failure_window
    )
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    metrics.prime(list(services.helpdesks))
    for bp in blueprints():
        app.register_blueprint(bp)
