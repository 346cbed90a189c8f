"""What every `entitlements` command shares, connectors' commands included: the settings,
policy and store, loaded on first use, and configuration errors as a clean exit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

from adapter.policy import Policy
from adapter.settings import Settings
from mappings.plans import load_policy
from mappings.settings import load_settings
from mappings.yamlfile import FileErrors

if TYPE_CHECKING:
    from adapter.store import Store

T = TypeVar("T")


class Context:
    """Settings, policy and store, loaded on first use so that `--help` needs none of them."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._policy: Policy | None = None
        self._store: Store | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = or_exit(load_settings)
        return self._settings

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = or_exit(lambda: load_policy(self.settings.mapping("plans.yaml")))
        return self._policy

    @property
    def store(self) -> Store:
        """The store of a migrated database; exits with advice if it is not migrated."""
        if self._store is None:
            # lazy: `--help` and the commands without a database load no SQLAlchemy
            from adapter.store import Store, is_migrated, make_engine

            engine = make_engine(self.settings.database_url)
            click.get_current_context().call_on_close(engine.dispose)
            if not is_migrated(engine):
                raise click.ClickException(
                    "the database is not migrated: run `entitlements db upgrade` first"
                )
            self._store = Store(engine)
        return self._store


def or_exit(load: Callable[[], T]) -> T:
    """`load()`, or a clean exit that lists the configuration errors."""
    try:
        return load()
    except FileErrors as e:
        raise click.ClickException(f"configuration errors:\n{e}") from e


pass_context = click.make_pass_decorator(Context, ensure=True)
