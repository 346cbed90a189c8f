"""Providers: a helpdesk or an ERP integration, found through the entry points of the group
`helpdesk_entitlements.providers`. The core names none of them: each package under
`connectors/` declares one `Provider` (in its `provider.py`), and `pyproject.toml` registers it.
After changing the entry points, run `pip install -e .` again: they are read from the installed
package's metadata, not from the source tree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import click
from flask import Blueprint, Flask
from marshmallow import Schema

from adapter.engine import Decision, TicketFacts
from adapter.policy import Policy
from adapter.settings import Settings

if TYPE_CHECKING:
    from apispec import APISpec

    from adapter.store import Store

GROUP = "helpdesk_entitlements.providers"

# Called right before a write the helpdesk would apply twice, with how long it may take: raises
# if the row is no longer this worker's, and else keeps it that long.
Fence = Callable[[float], None]


class Helpdesk(Protocol):
    """A helpdesk's connector, as the pipeline sees it."""

    name: str
    language: str

    def facts(self, payload: dict[str, Any]) -> TicketFacts:
        """An inbox payload as facts; may re-read the ticket (raises adapter.errors.ApiError)."""

    def customer_changed(
        self,
        customer_number: str,
        plan: str | None,
        valid_until: date | None,
        *,
        notice_by: date | None = None,
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
        """A customer's standing changed (its contracts, or a term turned over): outbox writes
        (key, payload) for its records, and inbox payloads (ticket id, payload) for its open
        tickets. `notice_by`: the last day to give notice on the contract that stands for it."""

    def write_back(self, decision: Decision, facts: TicketFacts, *, note: bool) -> dict[str, Any]:
        """The outbox payload for a changed decision; `note`: with a note about the change."""

    def deliver(self, payload: dict[str, Any], fence: Fence) -> list[str]:
        """Write one outbox payload; returns what was done. Calls `fence(seconds)` right before
        each write that the helpdesk would apply twice (a note)."""

    def reconcile(self, store: Store, now: datetime, since: datetime | None = None) -> int:
        """Put tickets changed since the last reconcile (or `since`) into the inbox."""


@dataclass(frozen=True)
class Job:
    """Something the worker runs on an interval (one thread per process runs the jobs)."""

    name: str  # the `job` of the worker's log lines and metrics, e.g. "erp.pull"
    every: int  # seconds; 0: never
    # (services, now) -> what it did, for the log. `Any`: adapter.services imports this module.
    run: Callable[[Any, datetime], object]


def _none(*_: object) -> tuple[()]:
    return ()


@dataclass(frozen=True)
class Provider:
    """What a helpdesk or ERP integration adds to the core; every part is optional."""

    # The entry point's name. For a helpdesk also the blueprint's name and the `helpdesk` of its
    # inbox and outbox rows, decisions and metrics.
    key: str
    title: str  # for people: "Zammad", "ERP"
    # Loads its settings, ENTITLEMENTS_<KEY>_* without that prefix, into its settings object
    # (`Settings.of`); unknown keys excluded.
    settings: type[Schema] | None = None
    # Why the web tier must not start with these settings, e.g. no webhook secret.
    problems: Callable[[Settings], Sequence[str]] = _none
    # The mapping file's name in MAPPINGS_DIR, and its loader (None: the shipped file), which
    # raises mappings.yamlfile.FileErrors: `check` validates it.
    mapping_file: str | None = None
    load_mapping: Callable[[Path | None], object] | None = None
    blueprint: Blueprint | None = None  # what it receives over HTTP (its module in webhooks/)
    # Adds its paths, schemas and security schemes to the app's OpenAPI document.
    openapi: Callable[[APISpec, Flask], None] | None = None
    # None from it: not configured, so not a helpdesk to decide in (its rows wait).
    helpdesk: Callable[[Settings, Policy], Helpdesk | None] | None = None
    commands: Callable[[], Sequence[click.Command]] = _none  # added to `entitlements`
    jobs: Callable[[Settings], Sequence[Job]] = _none  # the worker's interval jobs
    warnings: Callable[[Settings], Iterable[str]] = _none  # `check`: e.g. what is installed there
    # `billing export --push`: sends the lines not sent before and says what it did; raises
    # ProviderError when it cannot (not configured, refused).
    billing_push: Callable[[Settings, Store, list[dict[str, Any]]], str] | None = None


class ProviderError(RuntimeError):
    """A provider is broken, missing or could not do what was asked; the message says which."""


def _origin(entry: EntryPoint) -> str:
    dist = entry.dist.name if entry.dist is not None else "an unknown distribution"
    return f"entry point {entry.name} = {entry.value} (from {dist})"


@functools.cache
def installed() -> Mapping[str, Provider]:
    """Every provider installed, by key, each loaded once per process."""
    found: dict[str, Provider] = {}
    origins: dict[str, str] = {}
    for entry in entry_points(group=GROUP):
        origin = _origin(entry)
        if entry.name in found:  # two distributions declare it
            raise ProviderError(
                f"two providers named {entry.name}: {origins[entry.name]}, {origin}"
            )
        try:
            provider = entry.load()
        except Exception as e:  # whatever a broken plug-in raises, said with its origin
            raise ProviderError(f"{origin} does not load: {type(e).__name__}: {e}") from e
        if not isinstance(provider, Provider):
            raise ProviderError(f"{origin} is not an adapter.providers.Provider")
        if provider.key != entry.name:
            raise ProviderError(f"{origin} declares the key {provider.key!r}")
        found[entry.name] = provider
        origins[entry.name] = origin
    return MappingProxyType(dict(sorted(found.items())))


def enabled(settings: Settings) -> list[Provider]:
    """The providers this installation uses: those of ENTITLEMENTS_PROVIDERS, else every
    installed one."""
    providers = installed()
    if settings.providers is None:
        return list(providers.values())
    unknown = [key for key in settings.providers if key not in providers]
    if unknown:
        raise ProviderError(
            f"not installed: {', '.join(unknown)}; installed: {', '.join(providers)}"
        )
    return [provider for key, provider in providers.items() if key in settings.providers]


def helpdesk_keys(settings: Settings) -> list[str]:
    """The enabled helpdesks: a changed contract is decided again in each of them."""
    return [p.key for p in enabled(settings) if p.helpdesk is not None]
