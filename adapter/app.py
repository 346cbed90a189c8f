"""The Flask app factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from adapter import admin_page, health, metrics
from adapter.providers import enabled
from adapter.services import Services, build_services
from adapter.settings import Settings
from adapter.web import EXTENSION, admin_api, entitlement_api, errors, openapi, throttle
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
    problems = [problem for p in enabled(settings) for problem in p.problems(settings)]
    if problems:
        raise ConfigError("; ".join(problems))
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
    app.extensions[EXTENSION] = services
    settings = services.settings
    app.extensions[throttle.EXTENSION] = throttle.FailureThrottle(
        settings.auth_failure_limit, settings.auth_failure_window
    )
    errors.init_app(app)
    for bp in (health.bp, metrics.bp, admin_api.bp, entitlement_api.bp, openapi.bp, admin_page.bp):
        app.register_blueprint(bp)
    for provider in enabled(settings):
        if provider.blueprint is not None:
            app.register_blueprint(provider.blueprint)
    metrics.prime(list(services.helpdesks))
