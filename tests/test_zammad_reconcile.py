"""Reconcile reads Zammad without its search index: what changed while the adapter heard
nothing, with Elasticsearch configured and without, paged by (updated_at, id) so that nothing
is skipped while tickets change, and tag-only changes that fire no trigger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from sqlalchemy import select

from adapter.contracts import Licence
from adapter.errors import ApiServerError
from adapter.licences import store_licences
from adapter.settings import Settings
from adapter.store import Store
from adapter.store.models import InboxRow, LedgerEntryRow
from connectors.zammad.client import ConditionIgnored, ZammadClient
from connectors.zammad.reconcile import CHECKPOINT, reconcile
from standins.rig import Rig
from standins.zammad import ZammadStandin


@pytest.fixture(params=[True, False], ids=["elasticsearch", "sql"])
def search_index(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def rig(database_url: str, store: Store, search_index: bool) -> Iterator[Rig]:
    with Rig(Settings(database_url=database_url, language="en"), store=store) as rig:
        rig.zammad.search_index = search_index
        yield rig


@pytest.fixture
def zammad(search_index: bool) -> Iterator[ZammadStandin]:
    with ZammadStandin(time_scale=0.01, search_index=search_index) as standin:
        yield standin


@pytest.fixture
def client(zammad: ZammadStandin) -> ZammadClient:
    return ZammadClient(zammad.url, zammad.token, first_wait=0.0, sleep=lambda seconds: None)


def customer(rig: Rig, number: str, plan: str) -> int:
    org = rig.zammad.add_organization(f"Org {number}", customer_number=number)
    user = rig.zammad.add_user("Pat", number, f"pat@{number.lower()}.example", organization_id=org)
    with rig.store.session() as session:
        licence = Licence(f"LIC-{number}", number, plan, date(2026, 1, 10))
        store_licences(
            rig.store,
            session,
            rig.services.policy,
            [licence],
            "import",
            now(),
            helpdesks=rig.services.helpdesks,
        )
    rig.settle()  # the customer re-check the licence sets off
    return user


def now() -> datetime:
    return datetime.now(UTC)


def set_triggers(zammad: ZammadStandin, *, active: bool) -> None:
    """As an admin would: the adapter hears nothing while they are off."""
    headers = {"Authorization": f"Token token={zammad.token}"}
    with requests.Session() as http:
        http.trust_env = False
        for trigger in http.get(f"{zammad.api_url}triggers", headers=headers, timeout=5).json():
            answer = http.put(
                f"{zammad.api_url}triggers/{trigger['id']}",
                json={"active": active},
                headers=headers,
                timeout=5,
            )
            assert answer.status_code == 200, answer.text


def inbox_keys(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(InboxRow.delivery_id).order_by(InboxRow.id)))


def watermark(store: Store) -> datetime:
    with store.session() as session:
        return datetime.fromisoformat(store.checkpoint(session, CHECKPOINT)["updated_at"])


def current_keys(zammad: ZammadStandin) -> set[str]:
    return {f"reconcile:{t['id']}:{t['updated_at']}" for t in zammad.tickets()}


def parsed(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_reconcile_after_downtime_finds_the_tickets_changed_meanwhile(rig: Rig) -> None:
    # A query would not do: with Elasticsearch, `updated_at:>=<time>` is refused for the
    # time's ':' and Zammad answers [] (lib/search_index_backend.rb); without it, a query is
    # a LIKE on titles and articles (app/models/ticket/search.rb). A condition alone is read
    # from the database either way (app/models/concerns/can_search.rb).
    user = customer(rig, "C-100", "basic")
    set_triggers(rig.zammad, active=False)
    missed = [rig.zammad.create_ticket(f"Missed {n}", user) for n in range(3)]
    rig.zammad.update_ticket(missed[0], title="Missed, then edited")
    rig.settle()
    assert not any(rig.zammad.ticket(t).get("entitlement_plan") for t in missed)
    set_triggers(rig.zammad, active=True)

    assert rig.services.helpdesks["zammad"].reconcile(rig.store, now()) == 3
    rig.settle()
    assert [rig.zammad.ticket(t)["entitlement_plan"] for t in missed] == ["basic"] * 3


def test_a_tag_added_by_an_agent_after_the_adapters_write_is_picked_up(rig: Rig) -> None:
    # A tag only touches the ticket: updated_at moves, updated_by stays the adapter's and no
    # trigger fires (app/models/tag.rb, app/models/application_model/can_touch_references.rb).
    user = customer(rig, "C-200", "basic")
    ticket = rig.zammad.create_ticket("Crash in the scheduler", user)
    rig.settle()
    assert rig.zammad.ticket(ticket)["updated_by_id"] == rig.zammad.integration_user_id
    helpdesk = rig.services.helpdesks["zammad"]
    helpdesk.reconcile(rig.store, now())  # the adapter's own write: decided once more
    rig.settle()
    delivered = len(rig.zammad.deliveries)

    rig.zammad.add_tag(ticket, "vendor-bug")  # the admin's marker: does not count
    rig.settle()
    assert len(rig.zammad.deliveries) == delivered  # no webhook for a tag
    assert rig.zammad.ticket(ticket)["updated_by_id"] == rig.zammad.integration_user_id

    assert helpdesk.reconcile(rig.store, now()) == 1
    rig.settle()
    with rig.store.session() as session:
        entry = session.scalars(
            select(LedgerEntryRow).where(LedgerEntryRow.ticket_id == str(ticket))
        ).one()
        assert entry.released_at is not None
    # Deciding the write-back of that again writes nothing, so it ends there.
    helpdesk.reconcile(rig.store, now())
    rig.zammad.clear_requests()
    rig.settle()
    assert [r for r in rig.zammad.requests if r.method in ("PUT", "POST", "DELETE")] == []
    assert helpdesk.reconcile(rig.store, now()) == 0


def test_a_ticket_changing_between_pages_is_read_again_and_none_is_skipped(
    zammad: ZammadStandin, client: ZammadClient, store: Store
) -> None:
    org = zammad.add_organization("Busy Ltd", customer_number="C-300")
    user = zammad.add_user("Pat", "Busy", "pat@busy.example", organization_id=org)
    tickets = [zammad.create_ticket(f"T{n}", user) for n in range(450)]
    searches: list[int] = []

    def meanwhile(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "tickets/search" in response.url:
            searches.append(1)
            if len(searches) == 1:  # after the first page: one read, one not yet read
                zammad.update_ticket(tickets[10], title="changed after it was read")
                zammad.update_ticket(tickets[300], title="changed before it was read")

    client.api.session.hooks["response"].append(meanwhile)
    reconcile(client, store, now(), since=datetime(2020, 1, 1, tzinfo=UTC))

    stored = inbox_keys(store)
    assert current_keys(zammad) <= set(stored)
    assert len(stored) == len(tickets) + 1  # tickets[10] before and after its change
    assert watermark(store) == max(parsed(t["updated_at"]) for t in zammad.tickets())


def test_the_watermark_stops_at_the_last_page_stored_when_a_later_page_fails(
    zammad: ZammadStandin, client: ZammadClient, store: Store
) -> None:
    org = zammad.add_organization("Busy Ltd", customer_number="C-301")
    user = zammad.add_user("Pat", "Busy", "pat@busy.example", organization_id=org)
    tickets = [zammad.create_ticket(f"T{n}", user) for n in range(250)]
    searches: list[int] = []

    def meanwhile(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "tickets/search" in response.url:
            searches.append(1)
            if len(searches) == 1:
                zammad.update_ticket(tickets[5], title="changed while the run reads")
                zammad.inject_fault("POST", r"tickets/search$", status=503, times=3)

    client.api.session.hooks["response"].append(meanwhile)
    with pytest.raises(ApiServerError):
        reconcile(client, store, now(), since=datetime(2020, 1, 1, tzinfo=UTC))
    first_page = inbox_keys(store)
    assert len(first_page) == 200
    mark = watermark(store)
    assert mark == max(parsed(key.split(":", 2)[2]) for key in first_page)
    changed = zammad.ticket(tickets[5])
    assert parsed(changed["updated_at"]) > mark  # not stored yet, and not passed

    client.api.session.hooks["response"].remove(meanwhile)
    reconcile(client, store, now())  # the next run goes on from the watermark
    assert current_keys(zammad) <= set(inbox_keys(store))
    assert watermark(store) == parsed(changed["updated_at"])


def test_more_tickets_than_a_page_changed_in_one_instant_are_all_read_once(
    zammad: ZammadStandin, client: ZammadClient, store: Store
) -> None:
    org = zammad.add_organization("Bulk Ltd", customer_number="C-302")
    user = zammad.add_user("Pat", "Bulk", "pat@bulk.example", organization_id=org)
    instant = "2026-11-02T09:30:00.000Z"
    for n in range(450):
        zammad.create_ticket(f"Imported {n}", user, created_at=instant)
    later = zammad.create_ticket("Later", user, created_at="2026-11-02T09:31:00Z")

    reconcile(client, store, now(), since=datetime(2026, 11, 1, tzinfo=UTC))
    stored = inbox_keys(store)
    assert len(stored) == len(set(stored)) == 451
    assert set(stored) == current_keys(zammad)
    assert watermark(store) == parsed(zammad.ticket(later)["updated_at"])


class IgnoringZammad:
    """A Zammad that answers every ticket, as it does for a condition it drops."""

    def __init__(self, tickets: list[dict[str, Any]]) -> None:
        self.tickets = tickets

    def search_where(self, resource: str, conditions: Any, **order: str) -> list[dict[str, Any]]:
        return self.tickets


def test_an_answer_outside_the_condition_stops_reconcile_before_the_watermark_moves(
    store: Store,
) -> None:
    # lib/selector/sql.rb: an invalid condition is dropped and every ticket is answered.
    old = {"id": 1, "updated_at": "2025-01-01T00:00:00.000Z", "updated_by_id": 3}
    with pytest.raises(ConditionIgnored):
        reconcile(IgnoringZammad([old]), store, now(), since=datetime(2026, 1, 1, tzinfo=UTC))
    assert inbox_keys(store) == []
    with store.session() as session:
        assert store.checkpoint(session, CHECKPOINT) is None
