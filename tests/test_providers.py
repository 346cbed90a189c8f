"""The provider registry (issue 12, item 1): the entry points in pyproject.toml are the ones
installed, and a broken or clashing provider stops the start with a message naming it."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from adapter import providers
from adapter.cli import Main
from adapter.providers import GROUP, Provider, ProviderError, installed

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
    for name in ("check", "setup-zammad", "sync-erp", "demo"):
        assert f"  {name} " in listed, name
