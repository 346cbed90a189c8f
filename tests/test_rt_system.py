"""Against a real Request Tracker 5 (Debian's packages, started by tests/rt_rig.py on loopback
with a fresh database): setup-rt, the Scrip's webhook, the worker's write-back, polling. No
stand-in: what RT does here is what RT does. Skips, saying why, where RT is not installed."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select
from werkzeug.serving import make_server

from adapter.app import create_app
from adapter.contracts import Licence
from adapter.errors import ApiRejected
from adapter.licences import store_licences
from adapter.services import Services, build_services
from adapter.store import Store
from adapter.store.models import InboxRow, LedgerEntryRow, WorkItemRow
from adapter.worker import Worker
from connectors.rt.client import RtClient
from connectors.rt.reconcile import CHECKPOINT
from connectors.rt.setup import (
    SetupError,
    client_warnings,
    create_fields,
    fields_of,
    initialdata,
    unapplied,
)
from connectors.rt.writeback import FieldsNotWritten, deliver
from mappings.rt import load_mapping
from tests.rt_helpers import adapter_settings, free_port
from tests.rt_rig import RTServer, rt_skip_reason, running_rt

pytestmark = pytest.mark.skipif(rt_skip_reason() is not None, reason=str(rt_skip_reason()))

SECRET = secrets.token_hex(24)
MAPPING = load_mapping()


@pytest.fixture(scope="module")
def rt() -> Iterator[RTServer]:
    with running_rt() as server:
        yield server


@pytest.fixture(scope="module")
def adapter_port() -> int:
    return free_port()


# The adapter's RT user with exactly the rights docs/rt.md lists, and no more: the tests act
# as root (an agent), the adapter as this user, as in an installation.
ADAPTER_USER, ADAPTER_PASSWORD = "entitlements", secrets.token_hex(12)
# A user given SeeCustomField in the queue only, as docs/rt.md once said.
NARROW_USER = "entitlements-narrow"
ADAPTER_RIGHTS = f"""
@Users = (
    {{ Name => '{ADAPTER_USER}', Password => '{ADAPTER_PASSWORD}', Privileged => 1 }},
    {{ Name => '{NARROW_USER}', Password => '{ADAPTER_PASSWORD}', Privileged => 1 }},
);
my @queue = qw(
    SeeQueue ShowTicket ShowTicketComments ModifyTicket CommentOnTicket ModifyCustomField
    AssignCustomFields
);
my @global = qw(AdminCustomField ModifySelf);
@ACL = (
    {{ UserId => '{ADAPTER_USER}', Queue => 'Support', Right => [@queue] }},
    {{ UserId => '{ADAPTER_USER}', Right => [@global, 'SeeCustomField'] }},
    {{ UserId => '{NARROW_USER}', Queue => 'Support', Right => [@queue, 'SeeCustomField'] }},
    {{ UserId => '{NARROW_USER}', Right => [@global] }},
);
1;
"""


@pytest.fixture(scope="module")
def rt_api(rt: RTServer, adapter_port: int, tmp_path_factory: pytest.TempPathFactory) -> RtClient:
    """RT set up as docs/rt.md says: the queue, the adapter's user and its rights, setup-rt's
    fields (as that user), its initialdata loaded."""
    requests.post(f"{rt.rest_url}/queue", json={"Name": "Support"}, auth=rt.auth, timeout=30)
    folder = tmp_path_factory.mktemp("rt")
    (folder / "user.initialdata").write_text(ADAPTER_RIGHTS)
    rt.load_initialdata(folder / "user.initialdata")
    client = RtClient(rt.base_url, user=ADAPTER_USER, password=ADAPTER_PASSWORD, first_wait=0.01)
    create_fields(client, MAPPING)
    path = folder / "entitlements.initialdata"
    url = f"http://127.0.0.1:{adapter_port}/webhooks/rt"
    path.write_text(initialdata(MAPPING, url, SECRET, ADAPTER_USER))
    rt.load_initialdata(path)
    return client


class Adapter:
    """The adapter's web tier on the port the Scrip posts to, and a worker."""

    def __init__(self, services: Services, port: int) -> None:
        self.services = services
        self.worker = Worker(services, retry_base=0.05, periodic_jobs=False)
        self.port = port
        self._server: Any = None

    def start(self) -> None:
        app = create_app(services=self.services)
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def settle(self) -> None:
        # RT runs the Scrip before it answers, so every webhook is in once RT has answered.
        for _ in range(3):
            self.worker.drain(60)


@pytest.fixture
def adapter(
    rt: RTServer, rt_api: RtClient, adapter_port: int, database_url: str, store: Store
) -> Iterator[Adapter]:
    settings = adapter_settings(database_url, rt, SECRET, user=(ADAPTER_USER, ADAPTER_PASSWORD))
    services = build_services(settings, store=store)
    services.helpdesks["rt"].client = rt_api
    running = Adapter(services, adapter_port)
    running.start()
    yield running
    running.stop()


def customer(rt: RTServer, adapter: Adapter, number: str, plan: str) -> str:
    """A requestor with a customer number, and a contract for it."""
    email = requestor(rt, number)
    contract(adapter, number, plan)
    return email


def requestor(rt: RTServer, number: str, name: str | None = None) -> str:
    """An RT user with a customer number (named by its email address unless `name`)."""
    email = f"pat@{number.lower()}.example"
    name = name or email
    requests.post(
        f"{rt.rest_url}/user", json={"Name": name, "EmailAddress": email}, auth=rt.auth, timeout=30
    )
    answer = requests.put(
        f"{rt.rest_url}/user/{name}",
        json={"CustomFields": {"Customer Number": number}},
        auth=rt.auth,
        timeout=30,
    )
    assert answer.ok, answer.text
    return email


def contract(adapter: Adapter, number: str, plan: str) -> None:
    store = adapter.services.store
    with store.session() as session:
        store_licences(
            store,
            session,
            adapter.services.policy,
            [Licence(f"LIC-{number}", number, plan, date(2026, 1, 10))],
            "import",
            datetime.now(UTC),
            helpdesks=adapter.services.helpdesks,
        )
    adapter.settle()


def new_ticket(rt: RTServer, requestor: str, **fields: Any) -> int:
    body = {"Queue": "Support", "Subject": "Question", "Requestor": requestor, "Content": "Hi"}
    answer = requests.post(
        f"{rt.rest_url}/ticket", json={**body, **fields}, auth=rt.auth, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def shown(rt: RTServer, ticket_id: int) -> dict[str, Any]:
    """What an agent sees: the custom fields by name, Due, and the comments' subjects."""
    ticket = requests.get(f"{rt.rest_url}/ticket/{ticket_id}", auth=rt.auth, timeout=30).json()
    history = requests.get(
        f"{rt.rest_url}/ticket/{ticket_id}/history",
        params={"fields": "Type,Data", "per_page": 100},
        auth=rt.auth,
        timeout=30,
    ).json()
    return {
        **{f["name"]: (f["values"] or [None])[0] for f in ticket["CustomFields"]},
        "Due": ticket["Due"],
        "comments": [t["Data"].strip() for t in history["items"] if t["Type"] == "Comment"],
    }


def counted(store: Store, ticket_id: int) -> int:
    with store.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(LedgerEntryRow)
            .where(LedgerEntryRow.helpdesk == "rt", LedgerEntryRow.ticket_id == str(ticket_id))
            .where(LedgerEntryRow.released_at.is_(None))
        )


def test_setup_rt_creates_the_fields_once_and_the_initialdata_file_applies_them(
    rt: RTServer, rt_api: RtClient, adapter_port: int, tmp_path: Path
) -> None:
    assert create_fields(rt_api, MAPPING) == []  # the fixture ran it: nothing left to do
    assert unapplied(rt_api, MAPPING) == []
    path = tmp_path / "again.initialdata"
    url = f"http://127.0.0.1:{adapter_port}/webhooks/rt"  # the Scrip the other tests rely on
    path.write_text(initialdata(MAPPING, url, SECRET, ADAPTER_USER))
    rt.load_initialdata(path)  # a second load changes nothing, and does not fail
    assert unapplied(rt_api, MAPPING) == []
    assert client_warnings(rt_api, MAPPING) == []  # what `check` says
    me = rt_api.me()
    assert me["Timezone"] == "UTC"  # TicketSQL reads the poller's dates in it


def test_setup_rt_stops_when_rt_would_hide_the_fields_it_creates(
    rt: RTServer, rt_api: RtClient
) -> None:
    """Each run would create the fields again: stop at the first, saying which right."""
    narrow = RtClient(rt.base_url, user=NARROW_USER, password=ADAPTER_PASSWORD, first_wait=0.01)
    fields = replace(MAPPING.write_back, custom_fields={"plan": "Narrow Plan"})
    mapping = replace(MAPPING, write_back=fields, category_field=None)
    with pytest.raises(SetupError, match=r"'Narrow Plan'.*grant the user SeeCustomField globally"):
        create_fields(narrow, mapping)
    assert rt_api.custom_field("Narrow Plan", "RT::Queue-RT::Ticket")  # made once, then stopped
    # `check`, as this user: every field hidden, each named with the right that shows it.
    hidden = client_warnings(narrow, MAPPING)
    assert len(hidden) == len(fields_of(MAPPING))
    assert all("needs SeeCustomField granted globally" in w for w in hidden)


def test_tickets_of_two_customers_get_their_decisions_written_back(
    rt: RTServer, adapter: Adapter
) -> None:
    basic = customer(rt, adapter, "C-RT-1", "basic")
    pro = customer(rt, adapter, "C-RT-2", "pro")
    first = new_ticket(rt, basic)
    ui = new_ticket(rt, basic, CustomFields={"Entitlement Category": "ui_building"})
    pro_ui = new_ticket(rt, pro, CustomFields={"Entitlement Category": "ui_building"})
    adapter.settle()
    month = datetime.now(UTC).astimezone(adapter.services.policy.calendar.time_zone)
    period = month.strftime("%b %Y")
    a, b, c = shown(rt, first), shown(rt, ui), shown(rt, pro_ui)
    assert (a["Entitlement Plan"], a["Entitlement Billable"]) == ("Basic support", "no")
    assert a["Entitlement Quota"] == f"1/4 {period}"
    assert a["Entitlement Valid Until"] == "2027-12-31"
    assert a["Due"] != "1970-01-01T00:00:00Z"  # RT's own Due: the reaction due
    assert (b["Entitlement Billable"], c["Entitlement Billable"]) == ("yes", "no")
    assert "not included in Basic support" in b["Entitlement Reasons"]
    assert c["Entitlement Plan"] == "Pro support"
    assert [len(t["comments"]) for t in (a, b, c)] == [1, 1, 1]
    assert a["comments"][0].startswith("Entitlement check [entitlement-decision ")


def test_repeated_updates_count_a_ticket_once_and_write_nothing_new(
    rt: RTServer, adapter: Adapter
) -> None:
    requestor = customer(rt, adapter, "C-RT-3", "basic")
    ticket_id = new_ticket(rt, requestor)
    adapter.settle()
    before = shown(rt, ticket_id)
    for status in ("open", "stalled", "open"):
        answer = requests.put(
            f"{rt.rest_url}/ticket/{ticket_id}", json={"Status": status}, auth=rt.auth, timeout=30
        )
        assert answer.ok
        adapter.settle()
    assert counted(adapter.services.store, ticket_id) == 1
    assert shown(rt, ticket_id) == before  # the same fields, still one comment


def test_a_new_contract_decides_again_the_open_tickets_of_a_requestor_not_named_by_email(
    rt: RTServer, adapter: Adapter
) -> None:
    email = requestor(rt, "C-RT-8", name="pat-c-rt-8")
    ticket_id = new_ticket(rt, email)
    adapter.settle()
    assert shown(rt, ticket_id)["Entitlement Plan"] is None  # no contract yet
    contract(adapter, "C-RT-8", "pro")  # the customer changed: its open tickets again
    assert shown(rt, ticket_id)["Entitlement Plan"] == "Pro support"


def test_users_are_never_searched_by_a_field_rt_cannot_load(rt: RTServer, rt_api: RtClient) -> None:
    """RT drops a condition on a field it cannot load and answers every user."""
    requestor(rt, "C-RT-9")
    assert rt_api.users_with("Customer Number", "C-RT-9") == ["pat@c-rt-9.example"]
    with pytest.raises(ApiRejected, match="no user custom field 'Customer No'"):
        rt_api.users_with("Customer No", "C-RT-9")


def test_a_field_not_applied_to_the_queue_is_reported_not_taken_as_written(
    rt: RTServer, rt_api: RtClient, adapter: Adapter
) -> None:
    """RT answers 200 and skips the field without a message: a dead letter naming it."""
    ticket_id = new_ticket(rt, customer(rt, adapter, "C-RT-10", "basic"))
    adapter.settle()
    body = {"Name": "Entitlement Unapplied", "Type": "Freeform", "MaxValues": 1}
    rt_api.create_custom_field({**body, "LookupType": "RT::Queue-RT::Ticket"})  # in no queue
    item = {"ticket_id": ticket_id, "custom_fields": {"Entitlement Unapplied": "x"}, "due": None}
    with pytest.raises(FieldsNotWritten, match="Entitlement Unapplied of ticket"):
        deliver(rt_api, {**item, "note": None}, lambda seconds: None)
    fields = {"Entitlement Plan": "Pro support", "Entitlement Unapplied": "x"}
    with pytest.raises(FieldsNotWritten) as raised:  # and only it, beside one that is written
        deliver(rt_api, {**item, "custom_fields": fields, "note": None}, lambda seconds: None)
    assert raised.value.names == ["Entitlement Unapplied"]


def test_the_adapters_own_write_back_sets_off_no_webhook(rt: RTServer, adapter: Adapter) -> None:
    requestor = customer(rt, adapter, "C-RT-7", "basic")
    ticket_id = new_ticket(rt, requestor)
    adapter.settle()  # decided and written back: fields, Due and a comment, as the adapter
    assert shown(rt, ticket_id)["Entitlement Plan"] == "Basic support"
    answer = requests.put(
        f"{rt.rest_url}/ticket/{ticket_id}", json={"Status": "open"}, auth=rt.auth, timeout=30
    )
    assert answer.ok
    adapter.settle()
    with adapter.services.store.session() as session:
        posted = session.scalars(
            select(InboxRow.trigger)
            .where(InboxRow.helpdesk == "rt", InboxRow.ticket_id == str(ticket_id))
            .order_by(InboxRow.id)
        ).all()
    assert posted == ["create", "update"]  # the agent's two changes, none of the adapter's


def test_a_merged_ticket_gives_its_count_back(rt: RTServer, adapter: Adapter) -> None:
    requestor = customer(rt, adapter, "C-RT-4", "basic")
    survivor, merged = new_ticket(rt, requestor), new_ticket(rt, requestor)
    adapter.settle()
    assert shown(rt, merged)["Entitlement Quota"].startswith("2/4")
    answer = requests.put(
        f"{rt.rest_url}/ticket/{merged}", json={"MergeInto": survivor}, auth=rt.auth, timeout=30
    )
    assert answer.json() == ["Merge Successful"]
    adapter.settle()
    store = adapter.services.store
    assert (counted(store, survivor), counted(store, merged)) == (1, 0)


def test_time_worked_in_rt_becomes_billable_work_read_over_several_pages(
    rt: RTServer, adapter: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RT tells the adapter's user no page count for transactions: pages follow the last id.
    monkeypatch.setattr("connectors.rt.client.PAGE", 1)
    requestor = customer(rt, adapter, "C-RT-5", "basic")
    ticket_id = new_ticket(rt, requestor, CustomFields={"Entitlement Category": "ui_building"})
    for minutes in (45, 30):
        answer = requests.post(
            f"{rt.rest_url}/ticket/{ticket_id}/comment",
            json={"Content": "built the form", "ContentType": "text/plain", "TimeTaken": minutes},
            auth=rt.auth,
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
    adapter.settle()
    with adapter.services.store.session() as session:
        minutes = session.scalars(
            select(WorkItemRow.minutes).where(WorkItemRow.ticket_id == str(ticket_id))
        ).all()
    assert sorted(minutes) == [30, 45]


def test_polling_after_downtime_catches_up_changes_merges_and_deletions_but_not_its_own_writes(
    rt: RTServer, adapter: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.rt.client.PAGE", 2)  # many pages: each after the last id
    requestor = customer(rt, adapter, "C-RT-6", "basic")
    kept, merged, deleted = (new_ticket(rt, requestor) for _ in range(3))
    adapter.settle()
    started = datetime.now(UTC)
    adapter.stop()  # the adapter is down: the Scrip's posts fail, and RT does not retry them
    try:
        late = new_ticket(rt, requestor)
        # An agent's change to a ticket the adapter wrote to last.
        requests.put(
            f"{rt.rest_url}/ticket/{kept}",
            json={"CustomFields": {"Entitlement Category": "ui_building"}},
            auth=rt.auth,
            timeout=30,
        ).raise_for_status()
        requests.put(
            f"{rt.rest_url}/ticket/{merged}", json={"MergeInto": kept}, auth=rt.auth, timeout=30
        )
        requests.delete(f"{rt.rest_url}/ticket/{deleted}", auth=rt.auth, timeout=30)
        rt.restart()  # and RT itself restarted meanwhile
    finally:
        adapter.start()
    helpdesk = adapter.services.helpdesks["rt"]
    assert helpdesk.reconcile(adapter.services.store, datetime.now(UTC)) >= 3
    adapter.settle()
    store = adapter.services.store
    # `kept`, now UI building, is billable under basic and uses no quota (domain.md).
    assert [counted(store, t) for t in (kept, merged, deleted, late)] == [0, 0, 0, 1]
    assert shown(rt, kept)["Entitlement Billable"] == "yes"
    assert shown(rt, late)["Entitlement Plan"] == "Basic support"
    with store.session() as session:
        reasons = session.scalars(
            select(LedgerEntryRow.release_reason).where(
                LedgerEntryRow.helpdesk == "rt", LedgerEntryRow.ticket_id == str(deleted)
            )
        ).all()
    assert reasons == ["marker"]  # mappings/rt.yaml: deleted is the admin's marker
    with store.session() as session:
        mark = store.checkpoint(session, CHECKPOINT)
    assert datetime.fromisoformat(mark["updated_at"]) >= started - timedelta(seconds=1)
    # The adapter's own write-backs since are no changes to catch up on.
    assert helpdesk.reconcile(store, datetime.now(UTC)) == 0
    assert [counted(store, t) for t in (kept, merged, deleted, late)] == [0, 0, 0, 1]


def test_setup_rt_command_writes_an_initialdata_file_that_holds_the_secret_privately(
    rt: RTServer, rt_api: RtClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapter.cli import main

    for name, value in {
        "RT_URL": rt.base_url,
        "RT_USER": ADAPTER_USER,
        "RT_PASSWORD": ADAPTER_PASSWORD,
        "RT_WEBHOOK_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(f"ENTITLEMENTS_{name}", value)
    path = tmp_path / "rt.initialdata"
    result = CliRunner().invoke(
        main,
        [
            "setup-rt",
            "--webhook-url",
            "http://adapter.example/webhooks/rt",
            "--initialdata",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "nothing to do" in result.output
    assert "rt-setup-database --action insert --datafile" in result.output
    assert SECRET in path.read_text()
    assert f"my $adapter = '{ADAPTER_USER}';" in path.read_text()  # its changes are not posted
    assert path.stat().st_mode & 0o777 == 0o600
