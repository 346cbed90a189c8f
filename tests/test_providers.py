"""The provider registry (issue 12, item 1): the entry points in pyproject.toml are the ones
installed, a broken or clashing provider stops the start with a message naming it, and an
installation runs with the providers it enables and their settings only."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from adapter import providers
from adapter.app import create_app
from adapter.cli import Main
from adapter.providers import GROUP, Provider, ProviderError, enabled, installed
from adapter.services import build_services
from adapter.store.models import InboxRow
from connectors.erp.openapi import LICENCE_EXAMPLE
from connectors.erp.settings import erp_settings
from mappings.settings import parse_settings
from mappings.yamlfile import FileErrors

ROOT = Path(__file__).resolve().parents[1]
NOT_A_PROVIDER = object()
MISNAMED = Provider(key="other", title="Misnamed")


@click.command("check")
def clashing_check() -> None:
    """Has the name of a core command."""


CLASHING = Provider(key="clashing", title="Clashing", commands=lambda: (clashing_check,))


def test_installed_providers_match_pyproject() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        declared = tomllib.load(f)["project"]["entry-points"][GROUP]
    found = {entry.name: entry.value for entry in entry_points(group=GROUP)}
    assert found == declared, (
        f"the installed entry points of {GROUP} differ from pyproject.toml: run `pip install -e .`"
    )
    assert set(installed()) == set(declared)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """Replaces the installed entry points with the ones a test appends."""
    fake: list[EntryPoint] = []
    monkeypatch.setattr(providers, "entry_points", lambda group: fake)
    installed.cache_clear()
    yield fake
    installed.cache_clear()


def _entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name, value, GROUP)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tests.test_providers:NOT_A_PROVIDER", "is not an adapter.providers.Provider"),
        ("tests.test_providers:MISNAMED", "declares the key 'other'"),
        ("tests.no_such_module:PROVIDER", "does not load: ModuleNotFoundError"),
    ],
)
def test_a_broken_entry_point_is_named(registry: list[EntryPoint], value: str, message: str):
    registry.append(_entry("broken", value))
    with pytest.raises(ProviderError, match=message) as raised:
        installed()
    assert f"entry point broken = {value}" in str(raised.value)


def test_two_providers_of_one_name_are_refused(registry: list[EntryPoint]) -> None:
    registry.extend(_entry("erp", "connectors.erp.provider:PROVIDER") for _ in range(2))
    with pytest.raises(ProviderError, match="two providers named erp"):
        installed()


def test_a_provider_command_may_not_take_a_core_commands_name(registry: list[EntryPoint]):
    registry.append(_entry("clashing", "tests.test_providers:CLASHING"))
    from adapter.cli import main

    group = Main(name="entitlements", commands=dict(main.commands))  # a fresh command cache
    result = CliRunner().invoke(group, ["--help"])
    assert result.exit_code == 1
    assert "provider clashing's command check clashes with the core's" in result.output


def test_the_providers_commands_are_listed_with_the_core_ones() -> None:
    from adapter.cli import main

    listed = CliRunner().invoke(main, ["--help"]).output
    for name in ("check", "setup-zammad", "pull-erp", "demo"):
        assert f"  {name} " in listed, name


# --- enabled providers and their settings ----------------------------------------------------

ERP_ONLY = {"PROVIDERS": "erp", "ERP_PUSH_TOKEN": "push-token-of-32-characters-or-more!"}


def test_a_zammad_less_installation_loads_no_zammad_settings() -> None:
    settings = parse_settings({**ERP_ONLY, "ZAMMAD_URL": "not a url: ignored"}, None)
    assert settings.providers == ("erp",)
    assert set(settings.provider_settings) == {"erp"}
    assert [p.key for p in enabled(settings)] == ["erp"]


def test_an_enabled_providers_settings_are_checked_and_named_with_their_prefix() -> None:
    with pytest.raises(FileErrors) as raised:
        parse_settings({"ZAMMAD_URL": "not a url", "ERP_PULL_INTERVAL": "-1"}, None)
    named = {error.field for error in raised.value.errors}
    assert named == {"ENTITLEMENTS_ZAMMAD_URL", "ENTITLEMENTS_ERP_PULL_INTERVAL"}


def test_a_provider_that_is_not_installed_cannot_be_enabled() -> None:
    with pytest.raises(FileErrors, match="ENTITLEMENTS_PROVIDERS: not installed: jira"):
        parse_settings({"PROVIDERS": "erp, jira"}, None)


def test_a_zammad_less_installation_starts_without_zammad(database_url, store) -> None:
    settings = parse_settings({**ERP_ONLY, "DATABASE_URL": database_url}, None)
    services = build_services(settings, store=store)
    assert services.helpdesks == {}
    client = create_app(services=services).test_client()  # no webhook secret needed
    assert client.post("/webhooks/zammad", json={}).status_code == 404
    assert "/webhooks/zammad" not in client.get("/api/v1/openapi.json").json["paths"]
    token = {"Authorization": f"Bearer {ERP_ONLY['ERP_PUSH_TOKEN']}"}
    assert client.post("/erp/licences", json=LICENCE_EXAMPLE, headers=token).status_code == 202
    with store.session() as session:  # no helpdesk to decide the customer's tickets again in
        assert session.scalar(select(func.count()).select_from(InboxRow)) == 0


def test_the_rows_of_a_helpdesk_that_is_not_enabled_wait(store) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        for helpdesk in ("zammad", "other"):
            store.accept_inbox(
                session,
                helpdesk=helpdesk,
                delivery_id=f"d-{helpdesk}",
                ticket_id="1",
                trigger=None,
                payload="{}",
                now=now,
            )
    lease = timedelta(minutes=1)
    claimed = store.claim("inbox", now, limit=10, lease=lease, owner="w", helpdesks=["zammad"])
    assert [row.helpdesk for row in claimed] == ["zammad"]


def test_check_says_which_variables_of_a_disabled_provider_are_ignored(monkeypatch) -> None:
    monkeypatch.setenv("ENTITLEMENTS_PROVIDERS", "erp")
    monkeypatch.setenv("ENTITLEMENTS_ZAMMAD_URL", "http://zammad.example")
    from adapter.cli import main

    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "warning: ENTITLEMENTS_ZAMMAD_URL is ignored: zammad is not enabled" in result.output
    assert "zammad.yaml" not in result.output  # a disabled provider's mapping is not checked


@pytest.mark.parametrize(
    ("given", "interval"),
    [
        ({"ERP_PULL_INTERVAL": "60"}, 60),
        ({"ERP_SYNC_INTERVAL": "120"}, 120),  # the deprecated name, still read
        ({"ERP_SYNC_INTERVAL": "120", "ERP_PULL_INTERVAL": "60"}, 60),
        ({}, 900),
    ],
)
def test_the_pull_interval_is_read_under_its_deprecated_name_too(given, interval) -> None:
    assert erp_settings(parse_settings(given, None)).pull_interval == interval


def test_check_warns_of_the_deprecated_pull_interval_name(monkeypatch) -> None:
    monkeypatch.setenv("ENTITLEMENTS_ERP_SYNC_INTERVAL", "600")
    from adapter.cli import main

    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert (
        "warning: ERP_SYNC_INTERVAL (ENTITLEMENTS_ERP_SYNC_INTERVAL) is deprecated: "
        "name it ERP_PULL_INTERVAL"
    ) in result.output
