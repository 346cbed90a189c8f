"""The adapter and the Zammad stand-in on loopback, wired as an admin would wire them:
fields created by `setup-zammad`, a signed webhook and loop-proof triggers, the adapter's web
tier on real HTTP and its worker. Used by `entitlements demo` and the end-to-end tests."""

from __future__ import annotations

import secrets
import threading
from dataclasses import replace
from typing import Any

from werkzeug.serving import make_server

from adapter.app import create_app
from adapter.services import Services, build_services
from adapter.settings import Settings
from adapter.store import Store, make_engine, upgrade
from adapter.worker import Worker
from connectors.zammad.client import ZammadClient
from connectors.zammad.settings import ZammadSettings, zammad_settings
from connectors.zammad.setup import create_attributes, create_webhook_and_triggers
from standins.zammad import ZammadStandin


class Rig:
    def __init__(
        self, settings: Settings, *, time_scale: float = 0.01, store: Store | None = None
    ) -> None:
        self.zammad = ZammadStandin(time_scale=time_scale)
        zammad = ZammadSettings(
            url=self.zammad.url,
            token=self.zammad.token,
            webhook_secret=zammad_settings(settings).webhook_secret or secrets.token_urlsafe(24),
        )
        self.settings = replace(
            settings,
            provider_settings={**settings.provider_settings, "zammad": zammad},
            reconcile_interval=0,  # webhooks only, unless a test reconciles on purpose
        )
        self._store = store
        self.services: Services | None = None
        self.worker: Worker | None = None
        self._server: Any = None

    def start(self) -> Rig:
        self.zammad.start()
        if self._store is None:
            upgrade(self.settings.database_url)
        self.services = build_services(
            self.settings, store=self._store or Store(make_engine(self.settings.database_url))
        )
        self._server = make_server(
            "127.0.0.1", 0, create_app(services=self.services), threaded=True
        )
        threading.Thread(target=self._server.serve_forever, name="adapter-web", daemon=True).start()
        self.worker = Worker(self.services, retry_base=0.05)
        helpdesk = self.services.helpdesks["zammad"]
        # The stand-in answers in microseconds: retry within milliseconds, not seconds.
        helpdesk.client = ZammadClient(
            self.zammad.url, self.zammad.token, first_wait=0.01, max_wait=0.05
        )
        create_attributes(helpdesk.client, helpdesk.mapping)
        create_webhook_and_triggers(
            helpdesk.client,
            f"{self.url}/webhooks/zammad",
            zammad_settings(self.settings).webhook_secret or "",
        )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def store(self) -> Store:
        assert self.services is not None
        return self.services.store

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until Zammad has delivered every webhook and the worker has done everything due."""
        assert self.worker is not None
        for _ in range(3):  # write-backs may set off webhooks of their own (they must not)
            self.zammad.wait_for_deliveries(timeout)
            self.worker.drain(timeout)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.zammad.stop()
        if self._store is None and self.services is not None:
            self.services.store.engine.dispose()

    def __enter__(self) -> Rig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
