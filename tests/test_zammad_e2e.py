"""End to end through the Zammad stand-in: Zammad's webhooks in, the worker, write-back out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import event, func, select

from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.settings import Settings
from adapter.store.models import DecisionRow, InboxRow, LedgerEntryRow, OutboxRow
from adapter.store.queue import LeaseLost
from adapter.worker import Worker
from connectors.zammad.settings import zammad_settings
from standins.rig import Rig
from tests.zammad_helpers import zammad_headers


@pytest.fixture
def rig(database_url, store):
    with Rig(Settings(database_url=database_url, language="en"), store=store) as rig:
        yield rig


def customer(rig, number, plan, purchased="2026-01-10", **org):
    """An organisation with a contract, and one of its people."""
    org_id = rig.zammad.add_organization(f"Org {number}", customer_number=number, **org)
    user_id = rig.zammad.add_user(
        "Pat", number, f"pat@{number.lower()}.example", organization_id=org_id
    )
    with rig.store.session() as session:
        licence = Licence(f"LIC-{number}", number, plan, date.fromisoformat(purchased))
        store_licences(
            rig.store,
            session,
            rig.services.policy,
            [licence],
            "import",
            datetime.now(UTC),
            helpdesks=rig.services.helpdesks,
        )
    return user_id


def ticket(rig, user_id, day, **attributes):
    created = datetime(2026, 11, day, 9, 30, tzinfo=UTC)
    return rig.zammad.create_ticket(f"Question {day}", user_id, created_at=created, **attributes)


def count(rig, model, **where):
    with rig.store.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


def test_fifth_counted_ticket_of_a_basic_customer_in_a_month_is_billable_and_says_so(rig):
    user = customer(rig, "C-100", "basic")
    ids = [ticket(rig, user, day) for day in (2, 5, 9, 12, 16)]
    rig.settle()
    fourth, fifth = rig.zammad.ticket(ids[3]), rig.zammad.ticket(ids[4])
    assert fourth["entitlement_billable"] is False
    assert fourth["entitlement_quota"] == "4/4 Nov 2026"
    assert "quota-last" in rig.zammad.tags(ids[3])
    assert fifth["entitlement_plan"] == "basic"
    assert fifth["entitlement_billable"] is True
    assert fifth["entitlement_quota"] == "5/4 Nov 2026"
    assert fifth["entitlement_valid_until"] == "2027-12-31"
    assert fifth["entitlement_reasons"].startswith("Over quota: This is ticket 5 of 4 in Nov 2026")
    assert {"billable", "over-quota", "quota-exceeded"} <= set(rig.zammad.tags(ids[4]))
    [note] = [a for a in rig.zammad.articles(ids[4]) if a["type"] == "note"]
    assert note["internal"] is True and "Billable: yes" in note["body"]


@pytest.mark.parametrize(("plan", "billable"), [("basic", True), ("pro", False)])
def test_ui_building_is_billable_under_basic_and_not_under_pro(rig, plan, billable):
    user = customer(rig, "C-200", plan)
    ticket_id = ticket(rig, user, 3, entitlement_category="ui_building")
    rig.settle()
    written = rig.zammad.ticket(ticket_id)
    assert written["entitlement_billable"] is billable
    assert ("billable-ui-building" in rig.zammad.tags(ticket_id)) is billable
    if billable:
        assert "user interfaces is not included in Basic support" in written["entitlement_reasons"]


def test_the_same_delivery_three_times_counts_once(rig):
    user = customer(rig, "C-300", "basic")
    ticket_id = ticket(rig, user, 4)
    rig.settle()
    [delivery] = [d for d in rig.zammad.deliveries if d.ok]
    for _ in range(2):  # Zammad repeats a delivery with the same id and body
        answer = requests.post(
            f"{rig.url}/webhooks/zammad",
            data=delivery.body,
            headers=dict(delivery.headers),
            timeout=5,
        )
        assert answer.json() == {"status": "duplicate"}
    rig.settle()
    assert count(rig, LedgerEntryRow, ticket_id=str(ticket_id)) == 1
    assert rig.zammad.ticket(ticket_id)["entitlement_quota"] == "1/4 Nov 2026"


def test_updates_and_new_deliveries_about_a_ticket_do_not_count_it_again(rig):
    user = customer(rig, "C-301", "basic")
    ticket_id = ticket(rig, user, 4)
    rig.settle()
    rig.zammad.update_ticket(ticket_id, title="Question 4, more detail")
    rig.zammad.add_article(ticket_id, "Here are the logs", type="email")
    rig.settle()
    assert count(rig, LedgerEntryRow, ticket_id=str(ticket_id)) == 1
    assert rig.zammad.ticket(ticket_id)["entitlement_quota"] == "1/4 Nov 2026"


def test_nothing_is_written_when_nothing_changed_and_own_writes_set_off_no_webhook(rig):
    user = customer(rig, "C-400", "pro")
    ticket_id = ticket(rig, user, 6)
    rig.settle()
    deliveries = len(rig.zammad.deliveries)
    assert deliveries == 1  # the create; the adapter's own writes fired nothing
    rig.zammad.clear_requests()
    rig.zammad.update_ticket(ticket_id, title="Renamed by an agent")
    rig.settle()
    writes = [r for r in rig.zammad.requests if r.method in ("PUT", "POST", "DELETE")]
    assert writes == []
    assert count(rig, OutboxRow, ticket_id=str(ticket_id)) == 1
    assert count(rig, DecisionRow, changed=True) == 1
    assert len([a for a in rig.zammad.articles(ticket_id) if a["type"] == "note"]) == 1


def test_a_merged_ticket_gives_its_count_back_with_the_merge_event(rig):
    # A merge sends the merged ticket one `update.merged_into` event, never `update`
    # (app/models/ticket.rb merge_to); setup-zammad's "ticket merged" trigger catches it.
    user = customer(rig, "C-500", "basic")
    first, second = ticket(rig, user, 2), ticket(rig, user, 3)
    rig.settle()
    assert rig.zammad.ticket(second)["entitlement_quota"] == "2/4 Nov 2026"
    before = len(rig.zammad.deliveries)
    rig.zammad.merge(first, into_id=second)
    rig.settle()
    merge_events = [(d.trigger, d.ticket_id) for d in rig.zammad.deliveries[before:] if d.ok]
    assert ("entitlements: ticket merged", first) in merge_events
    assert [t for t, ticket_id in merge_events if ticket_id == first] == [
        "entitlements: ticket merged"
    ]
    with rig.store.session() as session:
        [entry] = session.scalars(
            select(LedgerEntryRow).where(LedgerEntryRow.ticket_id == str(first))
        ).all()
        assert (entry.release_reason, entry.released_at is not None) == ("merged", True)
    assert rig.zammad.ticket(first)["entitlement_quota"] == "1/4 Nov 2026"
    third = ticket(rig, user, 4)
    rig.settle()
    assert rig.zammad.ticket(third)["entitlement_quota"] == "2/4 Nov 2026"


def test_a_customer_who_existed_before_setup_is_not_flagged_untrained(database_url, store):
    # Zammad's migration writes a boolean attribute's default into every existing user
    # (migration_execute in app/models/object_manager/attribute.rb); setup gives none.
    rig = Rig(Settings(database_url=database_url, language="en"), store=store)
    org_id = rig.zammad.add_organization("Org C-600", customer_number="C-600")
    user = rig.zammad.add_user("Pat", "Early", "pat@c-600.example", organization_id=org_id)
    with rig:
        with rig.store.session() as session:
            licence = Licence("LIC-C-600", "C-600", "basic", date(2026, 1, 10))
            store_licences(
                rig.store,
                session,
                rig.services.policy,
                [licence],
                "import",
                datetime.now(UTC),
                helpdesks=rig.services.helpdesks,
            )
        ticket_id = ticket(rig, user, 5)
        rig.settle()
        assert rig.zammad.user(user)["entitlement_trained"] is None
        assert rig.zammad.ticket(ticket_id)["entitlement_billable"] is False
        assert "requester-not-entitled" not in rig.zammad.tags(ticket_id)


def test_a_customer_without_a_contract_is_flagged(rig):
    org = rig.zammad.add_organization("No Contract Ltd", customer_number="C-404")
    user = rig.zammad.add_user("Sam", "Nobody", "sam@nocontract.example", organization_id=org)
    ticket_id = ticket(rig, user, 10)
    rig.settle()
    written = rig.zammad.ticket(ticket_id)
    assert written["entitlement_billable"] is True and written["entitlement_plan"] in (None, "")
    assert "no-contract" in rig.zammad.tags(ticket_id)


def test_transient_write_back_failures_are_retried(rig):
    user = customer(rig, "C-600", "basic")
    rig.zammad.inject_fault("PUT", r"/tickets/\d+$", status=503, times=2)
    rig.zammad.inject_fault("POST", r"/tags/add$", status=429, retry_after=0.05)
    ticket_id = ticket(rig, user, 11)
    rig.settle()
    assert rig.zammad.ticket(ticket_id)["entitlement_quota"] == "1/4 Nov 2026"
    assert count(rig, OutboxRow, status="done", ticket_id=str(ticket_id)) == 1


# The triggers fire for every group; TicketPolicy refuses a ticket outside the integration
# user's groups with 403 (app/policies/ticket_policy.rb, application_controller/handles_errors.rb).


def only_support_for_the_adapter(rig, *groups):
    rig.zammad.set_group_access(rig.zammad.integration_user_id, {g: ["full"] for g in groups})


def test_another_teams_ticket_the_integration_user_may_not_read_is_left_alone(rig):
    user = customer(rig, "C-701", "basic")
    rig.zammad.add_group("Sales")
    only_support_for_the_adapter(rig, "Support")
    ticket_id = ticket(rig, user, 12, group="Sales")
    rig.settle()
    with rig.store.session() as session:
        assert rig.store.dead_letters(session) == []
    assert count(rig, InboxRow, ticket_id=str(ticket_id)) >= 1
    assert count(rig, InboxRow, status="pending", ticket_id=str(ticket_id)) == 0
    assert count(rig, OutboxRow, ticket_id=str(ticket_id)) == 0


def test_a_support_ticket_the_integration_user_may_not_read_is_a_dead_letter_naming_the_group(
    rig,
):
    user = customer(rig, "C-702", "basic")
    rig.zammad.add_group("Sales")
    only_support_for_the_adapter(rig, "Sales")  # the admin granted the wrong group
    ticket(rig, user, 12)
    rig.settle()
    with rig.store.session() as session:
        letters = rig.store.dead_letters(session)
    assert letters and all(letter.queue == "inbox" for letter in letters)
    for letter in letters:
        assert "read ticket 1 in group 'Support' (Not authorized)" in letter.last_error
        assert "give the user read access to that group" in letter.last_error


def test_a_decided_ticket_moved_where_the_integration_user_may_not_read_is_a_dead_letter(rig):
    user = customer(rig, "C-703", "basic")
    rig.zammad.add_group("Sales")
    only_support_for_the_adapter(rig, "Support")
    ticket_id = ticket(rig, user, 12)
    rig.settle()
    rig.zammad.update_ticket(ticket_id, group="Sales")
    rig.settle()
    with rig.store.session() as session:
        letters = rig.store.dead_letters(session)
    assert letters and all("group 'Sales'" in letter.last_error for letter in letters)
    assert count(rig, LedgerEntryRow, ticket_id=str(ticket_id)) == 1  # at stake: someone looks


def test_a_rejected_write_back_becomes_a_dead_letter_that_can_be_retried(rig):
    user = customer(rig, "C-700", "basic")
    rig.zammad.inject_fault("PUT", r"/tickets/\d+$", status=422, times=1)
    ticket_id = ticket(rig, user, 12)
    rig.settle()
    with rig.store.session() as session:
        [letter] = rig.store.dead_letters(session)
    assert letter.queue == "outbox" and letter.attempts == 1 and "HTTP 422" in letter.last_error
    with rig.store.session() as session:
        assert rig.store.retry_dead(session, "outbox", letter.id, datetime.now(UTC))
    rig.settle()
    assert rig.zammad.ticket(ticket_id)["entitlement_quota"] == "1/4 Nov 2026"
    with rig.store.session() as session:
        assert rig.store.dead_letters(session) == []
        row = session.get(OutboxRow, letter.id)
    assert row.status == "done" and len(row.history) == 2  # the failure and the retry, kept


def test_webhook_signed_with_another_secret_is_refused(rig):
    body = b'{"ticket":{},"article":{}}'
    answer = requests.post(
        f"{rig.url}/webhooks/zammad",
        data=body,
        headers=zammad_headers(body, secret="not-the-secret"),
        timeout=5,
    )
    assert answer.status_code == 401


def work_items(rig, ticket_id):
    with rig.store.session() as session:
        return [w for w in rig.store.work(session) if w.ticket == str(ticket_id)]


def test_time_accounted_on_a_billable_ticket_is_stored_once_and_written_back(rig):
    user = customer(rig, "C-700", "basic")
    ticket_id = ticket(rig, user, 3, entitlement_category="ui_building")
    rig.zammad.add_time_accounting(ticket_id, 15, type_id=2)
    rig.zammad.add_time_accounting(ticket_id, "40.0")
    rig.settle()
    items = work_items(rig, ticket_id)
    assert sorted((w.code, w.minutes, w.activity) for w in items) == [
        ("ui_building", 15, "2"),
        ("ui_building", 40, None),
    ]
    assert {w.contract for w in items} == {"LIC-C-700"}
    assert rig.zammad.ticket(ticket_id)["entitlement_billable_time"] == "1.5 h (3 × 30 min)"
    rig.zammad.update_ticket(ticket_id, title="Question 3, again")
    rig.settle()
    assert len(work_items(rig, ticket_id)) == 2


def test_more_time_on_an_unchanged_decision_updates_the_billable_time(rig):
    user = customer(rig, "C-701", "basic")
    ticket_id = ticket(rig, user, 3, entitlement_category="ui_building")
    rig.zammad.add_time_accounting(ticket_id, 30)
    rig.settle()
    rig.zammad.add_time_accounting(ticket_id, 31)
    rig.zammad.update_ticket(ticket_id, title="Question 3, more work")
    rig.settle()
    assert len(work_items(rig, ticket_id)) == 2
    assert rig.zammad.ticket(ticket_id)["entitlement_billable_time"] == "1.5 h (3 × 30 min)"


def test_time_on_a_ticket_that_is_not_billable_is_not_stored(rig):
    user = customer(rig, "C-702", "pro")
    ticket_id = ticket(rig, user, 3, entitlement_category="ui_building")
    rig.zammad.add_time_accounting(ticket_id, 45)
    rig.settle()
    assert work_items(rig, ticket_id) == []
    assert rig.zammad.ticket(ticket_id).get("entitlement_billable_time") in (None, "")


def test_an_attribute_zammad_drops_silently_becomes_one_dead_letter_and_a_health_warning(rig):
    # Zammad not restarted after the migration: its process drops the attribute, answers 200
    # (app/models/application_model/can_cleanup_param.rb); the stand-in models that process.
    rig.zammad.forget_until_restart("Ticket", "entitlement_quota")
    user = customer(rig, "C-300", "basic")
    ticket_id = ticket(rig, user, 2)
    rig.settle()
    with rig.store.session() as session:
        [letter] = rig.store.dead_letters(session)
    assert letter.queue == "outbox" and letter.attempts == 1  # not written again and again
    assert "entitlement_quota" in letter.last_error and "restart Zammad" in letter.last_error
    ready = requests.get(f"{rig.url}/readyz", timeout=5).json()
    assert ready["status"] == "ok"
    assert "entitlement_quota" in ready["warnings"][0] and letter.key in ready["warnings"][0]
    # what Zammad kept was written; after the restart a retry writes the rest
    assert rig.zammad.ticket(ticket_id)["entitlement_plan"] == "basic"
    rig.zammad.restart()
    with rig.store.session() as session:
        assert rig.store.retry_dead(session, "outbox", letter.id, datetime.now(UTC))
    rig.settle()
    assert rig.zammad.ticket(ticket_id)["entitlement_quota"] == "1/4 Nov 2026"
    assert "warnings" not in requests.get(f"{rig.url}/readyz", timeout=5).json()


def test_time_accountings_refused_with_403_keep_deciding_and_say_billable_time_unavailable(rig):
    # Older Zammad wants admin.time_accounting to read a ticket's time accountings
    # (app/policies/controllers/time_accountings_controller_policy.rb); all=true lists them.
    user = customer(rig, "C-703", "basic")
    ticket_id = ticket(rig, user, 3, entitlement_category="ui_building")
    rig.zammad.add_time_accounting(ticket_id, 30)
    rig.zammad.inject_fault("GET", r"/time_accountings$", status=403, times=100)
    rig.settle()
    written = rig.zammad.ticket(ticket_id)
    assert written["entitlement_plan"] == "basic" and written["entitlement_billable"] is True
    assert written["entitlement_billable_time"] == "unavailable (HTTP 403)"
    assert work_items(rig, ticket_id) == []
    with rig.store.session() as session:
        assert rig.store.dead_letters(session) == []


def _reads_and_puts(rig, ticket_id):
    path = f"/api/v1/tickets/{ticket_id}"
    requests_ = [r for r in rig.zammad.requests if r.path == path]
    reads = [r for r in requests_ if r.method == "GET" and "all=true" in r.query]
    return len(reads), len([r for r in requests_ if r.method == "PUT" and r.status == 200])


def test_a_write_back_right_after_its_decision_spares_the_second_read(rig):
    user = customer(rig, "C-800", "basic")
    rig.settle()  # the licence's re-check of the customer's tickets: done before this one
    ticket_id = ticket(rig, user, 3)
    rig.settle()
    assert _reads_and_puts(rig, ticket_id) == (1, 1)  # read to decide, then one PUT with the note
    assert len([a for a in rig.zammad.articles(ticket_id) if a["type"] == "note"]) == 1


def test_a_write_back_retried_after_a_failure_reads_the_ticket_again(rig):
    user = customer(rig, "C-801", "basic")
    rig.settle()
    rig.zammad.inject_fault("PUT", r"^/api/v1/tickets/\d+$", status=503, times=3)
    ticket_id = ticket(rig, user, 3)
    while not count(rig, OutboxRow, ticket_id=str(ticket_id), status="done"):  # due a moment later
        rig.settle()
    reads, puts = _reads_and_puts(rig, ticket_id)
    assert reads == 2 and puts == 1  # the retry did not trust what the decision had seen
    assert rig.zammad.ticket(ticket_id)["entitlement_plan"] == "basic"


def test_a_decided_event_is_written_back_at_once_in_two_transactions(rig):
    user = customer(rig, "C-802", "basic")
    rig.settle()
    ticket_id = ticket(rig, user, 3)
    rig.zammad.wait_for_deliveries(20)
    worker = rig.worker
    [row] = rig.store.claim(
        "inbox", datetime.now(UTC), limit=10, lease=worker.lease, owner=worker.owner
    )
    commits = []

    def listener(_connection) -> None:
        commits.append(1)

    event.listen(rig.store.engine, "commit", listener)
    try:
        worker.decide(row)  # no claim from the outbox: the deciding worker holds the row
    finally:
        event.remove(rig.store.engine, "commit", listener)
    assert len(commits) == 2  # the decision with its held write-back; the write-back done
    assert count(rig, OutboxRow, ticket_id=str(ticket_id), status="done") == 1
    assert rig.zammad.ticket(ticket_id)["entitlement_plan"] == "basic"


def _write_back_waiting_for_its_retry(rig, number):
    """A ticket whose write-back failed once and waits, unclaimed, for its next attempt."""
    user = customer(rig, number, "basic")
    rig.settle()
    rig.zammad.inject_fault("PUT", r"^/api/v1/tickets/\d+$", status=503, times=3)
    ticket_id = ticket(rig, user, 3)
    rig.zammad.wait_for_deliveries(20)
    rig.worker.run_once()
    assert count(rig, OutboxRow, ticket_id=str(ticket_id), status="pending") == 1
    return ticket_id


def test_a_worker_whose_lease_ran_out_and_whose_row_was_taken_writes_nothing(rig):
    ticket_id = _write_back_waiting_for_its_retry(rig, "C-803")
    now = datetime.now(UTC) + timedelta(minutes=1)
    worker = Worker(rig.services, clock=lambda: now, periodic_jobs=False)
    [mine] = rig.store.claim("outbox", now, limit=1, lease=worker.lease, owner=worker.owner)
    rig.store.claim("outbox", now + worker.lease, limit=1, lease=worker.lease, owner="another")
    worker.clock = lambda: now + worker.lease  # this worker goes on only after its lease
    puts = _reads_and_puts(rig, ticket_id)[1]
    with pytest.raises(LeaseLost):
        worker.deliver(mine)  # the fence asks the database, which names another holder
    assert _reads_and_puts(rig, ticket_id)[1] == puts


def test_a_worker_well_within_its_lease_writes_without_fencing_in_the_database(rig, monkeypatch):
    ticket_id = _write_back_waiting_for_its_retry(rig, "C-804")
    now = datetime.now(UTC) + timedelta(minutes=1)
    worker = Worker(rig.services, clock=lambda: now, periodic_jobs=False)
    [mine] = rig.store.claim("outbox", now, limit=1, lease=worker.lease, owner=worker.owner)
    fenced = []
    monkeypatch.setattr(rig.store, "fence", lambda row, until: fenced.append(row))
    worker.deliver(mine)
    assert fenced == []  # no one can claim the row before its lease ends
    assert rig.zammad.ticket(ticket_id)["entitlement_plan"] == "basic"
    assert count(rig, OutboxRow, ticket_id=str(ticket_id), status="done") == 1


def test_a_pre_defined_slack_webhook_naming_the_ticket_by_its_link_gets_it_decided(rig):
    # The pre-defined payloads carry the ticket only in its link (webhook/pre_defined/slack.rb)
    auth = {"Authorization": f"Token token={rig.zammad.token}"}
    for trigger in requests.get(f"{rig.zammad.api_url}triggers", headers=auth, timeout=5).json():
        requests.put(
            f"{rig.zammad.api_url}triggers/{trigger['id']}",
            json={"active": False},
            headers=auth,
            timeout=5,
        )
    user = customer(rig, "C-900", "basic")
    rig.settle()
    ticket_id = ticket(rig, user, 4)
    text = f"_[Ticket#31081]({rig.zammad.url}/#ticket/zoom/{ticket_id}): Updated_"
    body = json.dumps({"text": "# Question 4", "attachments": [{"text": text}]}).encode()
    headers = zammad_headers(body, secret=zammad_settings(rig.settings).webhook_secret)
    answer = requests.post(f"{rig.url}/webhooks/zammad", data=body, headers=headers, timeout=5)
    assert answer.status_code == 202
    rig.settle()
    assert rig.zammad.ticket(ticket_id)["entitlement_plan"] == "basic"
