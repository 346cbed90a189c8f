"""`setup-zammad`, `serve` and `dead-letters` as an admin runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from adapter.cli import main
from adapter.store.models import OutboxRow
from standins.zammad import ZammadStandin
from tests.zammad_helpers import SECRET


@pytest.fixture
def zammad():
    with ZammadStandin(time_scale=0.01) as standin:
        yield standin


def env_for(zammad, database_url, **more):
    return {
        "ENTITLEMENTS_ZAMMAD_URL": zammad.url,
        "ENTITLEMENTS_ZAMMAD_TOKEN": zammad.token,
        "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET": SECRET,
        "ENTITLEMENTS_DATABASE_URL": database_url,
        **more,
    }


def test_setup_zammad_creates_fields_webhook_and_triggers_once(zammad, database_url):
    env = env_for(zammad, database_url)
    first = CliRunner().invoke(
        main, ["setup-zammad", "--webhook-url", "http://127.0.0.1:9/webhooks/zammad"], env=env
    )
    assert first.exit_code == 0, first.output
    assert "created Ticket.entitlement_billable" in first.output
    assert "created Organization.customer_number" in first.output
    assert "Restart Zammad now" in first.output
    names = {(a["object"], a["name"]) for a in zammad.object_attributes()}
    assert {
        ("Ticket", "entitlement_plan"),
        ("Ticket", "entitlement_reaction_due"),
        ("Organization", "support_valid_until"),
        ("User", "entitlement_trained"),
    } <= names
    executed = requests.get(
        f"{zammad.api_url}object_manager_attributes",
        headers={"Authorization": f"Token token={zammad.token}"},
        timeout=5,
    ).json()
    assert all(not a.get("to_create") for a in executed)
    hooks = requests.get(
        f"{zammad.api_url}webhooks",
        headers={"Authorization": f"Token token={zammad.token}"},
        timeout=5,
    ).json()
    assert [h["signature_token"] for h in hooks] == [SECRET]
    triggers = requests.get(
        f"{zammad.api_url}triggers",
        headers={"Authorization": f"Token token={zammad.token}"},
        timeout=5,
    ).json()
    guard = {
        "operator": "is not",
        "pre_condition": "specific",
        "value": [str(zammad.integration_user_id)],
    }
    # One trigger per action: Zammad compares ticket.action exactly (lib/selector/sql.rb) and
    # a merge is never an `update` (app/models/ticket.rb merge_to).
    assert {t["name"]: t["condition"] for t in triggers} == {
        "entitlements: ticket created": {
            "ticket.action": {"operator": "is", "value": "create"},
            "ticket.updated_by_id": guard,
        },
        "entitlements: ticket updated": {
            "ticket.action": {"operator": "is", "value": "update"},
            "ticket.updated_by_id": guard,
        },
        "entitlements: ticket merged": {
            "ticket.action": {"operator": "is", "value": "update.merged_into"},
        },
        "entitlements: ticket received merge": {
            "ticket.action": {"operator": "is", "value": "update.received_merge"},
        },
    }
    again = CliRunner().invoke(
        main, ["setup-zammad", "--webhook-url", "http://127.0.0.1:9/webhooks/zammad"], env=env
    )
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert len(zammad.object_attributes()) == len(names)


def test_setup_zammad_leaves_existing_users_trained(zammad, database_url):
    # Zammad writes a boolean's default into every existing row (migration_execute in
    # app/models/object_manager/attribute.rb): entitlement_trained gets none, so null.
    customer = zammad.add_user("Early", "Bird", "early@example.com")
    result = CliRunner().invoke(main, ["setup-zammad"], env=env_for(zammad, database_url))
    assert result.exit_code == 0, result.output
    [trained] = [a for a in zammad.object_attributes() if a["name"] == "entitlement_trained"]
    assert trained["data_option"]["default"] is None
    assert zammad.user(customer)["entitlement_trained"] is None
    assert "warning" not in result.output


def test_setup_zammad_warns_about_an_existing_default_that_makes_everyone_untrained(
    zammad, database_url
):
    option = {"default": False, "options": {"true": "yes", "false": "no"}}
    zammad.add_object_attribute("User", "entitlement_trained", "boolean", option)
    result = CliRunner().invoke(main, ["setup-zammad"], env=env_for(zammad, database_url))
    assert result.exit_code == 0, result.output
    [warning] = [ln for ln in result.output.splitlines() if ln.startswith("warning: ")]
    assert "User attribute entitlement_trained has the default false" in warning
    assert "requester_not_entitled" in warning and "data_option.default null" in warning


def test_setup_zammad_adds_the_merge_triggers_to_an_earlier_installation(zammad, database_url):
    url = "http://127.0.0.1:9/webhooks/zammad"
    webhook_id = zammad.add_webhook(url, SECRET, name="Entitlements")
    for action, name in [("create", "ticket created"), ("update", "ticket updated")]:
        condition = {"ticket.action": {"operator": "is", "value": action}}
        zammad.add_trigger(f"entitlements: {name}", condition, webhook_id)
    env = env_for(zammad, database_url)
    result = CliRunner().invoke(main, ["setup-zammad", "--webhook-url", url], env=env)
    assert result.exit_code == 0, result.output
    created = [ln for ln in result.output.splitlines() if ln.startswith("created trigger")]
    assert created == [
        "created trigger entitlements: ticket merged",
        "created trigger entitlements: ticket received merge",
    ]
    again = CliRunner().invoke(main, ["setup-zammad", "--webhook-url", url], env=env)
    assert "nothing to do" in again.output


def test_setup_zammad_names_what_is_missing(database_url):
    result = CliRunner().invoke(
        main,
        ["setup-zammad"],
        env={
            "ENTITLEMENTS_DATABASE_URL": database_url,
            "ENTITLEMENTS_ZAMMAD_URL": "",
            "ENTITLEMENTS_ZAMMAD_TOKEN": "",
        },
    )
    assert result.exit_code == 1
    assert "ENTITLEMENTS_ZAMMAD_URL and ENTITLEMENTS_ZAMMAD_TOKEN" in result.output


def test_setup_zammad_reports_a_wrong_token(zammad, database_url):
    env = {**env_for(zammad, database_url), "ENTITLEMENTS_ZAMMAD_TOKEN": "wrong"}
    result = CliRunner().invoke(main, ["setup-zammad"], env=env)
    assert result.exit_code == 1 and "Zammad answered: HTTP 401" in result.output


def test_dead_letters_list_and_retry(database_url, store):
    now = datetime.now(UTC)
    with store.session() as session:
        store.add_outbox(session, "zammad", "81", {"ticket_id": 81}, now)
    [row] = store.claim("outbox", now, limit=1, lease=timedelta(seconds=30), owner="test")
    store.fail(
        row,
        "ApiRejected: HTTP 422 Unknown attribute",
        now,
        retry_in=None,
        max_attempts=8,
    )
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}
    listed = CliRunner().invoke(main, ["dead-letters", "list"], env=env)
    assert f"outbox-{row.id}\tzammad ticket 81\t1 attempt(s)" in listed.output
    assert "HTTP 422 Unknown attribute" in listed.output
    retried = CliRunner().invoke(main, ["dead-letters", "retry", f"outbox-{row.id}"], env=env)
    assert retried.exit_code == 0 and "queued again" in retried.output
    with store.session() as session:
        back = session.get(OutboxRow, row.id)
        assert back.status == "pending" and back.attempts == 0 and len(back.history) == 2
    assert "no dead letters" in CliRunner().invoke(main, ["dead-letters", "list"], env=env).output
    missing = CliRunner().invoke(main, ["dead-letters", "retry", f"outbox-{row.id}"], env=env)
    assert missing.exit_code == 1 and "is not a dead letter" in missing.output
    bad = CliRunner().invoke(main, ["dead-letters", "retry", "seven"], env=env)
    assert bad.exit_code == 2 and "e.g. outbox-7" in bad.output


def test_serve_refuses_to_start_without_a_webhook_secret(database_url, store):
    result = CliRunner().invoke(
        main,
        ["serve", "--port", "0"],
        env={"ENTITLEMENTS_DATABASE_URL": database_url, "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET": ""},
    )
    assert result.exit_code == 1 and "ZAMMAD_WEBHOOK_SECRET is not set" in result.output


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_takes_zammads_webhooks_and_writes_back(zammad, database_url, store, tmp_path):
    port = _free_port()
    env = {**os.environ, **env_for(zammad, database_url), "ENTITLEMENTS_LANGUAGE": "en"}
    env.pop("ENTITLEMENTS_CONFIG", None)
    assert (
        CliRunner()
        .invoke(
            main,
            ["setup-zammad", "--webhook-url", f"http://127.0.0.1:{port}/webhooks/zammad"],
            env=env_for(zammad, database_url),
        )
        .exit_code
        == 0
    )
    org = zammad.add_organization("Serve Ltd", customer_number="C-SERVE")
    user = zammad.add_user("Pat", "Serve", "pat@serve.example", organization_id=org)
    server = subprocess.Popen(
        [sys.executable, "-m", "adapter", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok)
        ticket = zammad.create_ticket("Served", user)
        _wait_until(lambda: zammad.ticket(ticket).get("entitlement_billable") is True)
        # The tags come after the fields, one call each: wait for them too, not just look.
        _wait_until(lambda: "no-contract" in zammad.tags(ticket))
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert server.returncode == 0, output
    assert "serving on http://127.0.0.1" in output


def _wait_until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_reconcile_command_queues_and_processes_changes_since(zammad, database_url, store):
    env = env_for(zammad, database_url)
    assert CliRunner().invoke(main, ["setup-zammad"], env=env).exit_code == 0
    org = zammad.add_organization("Missed Ltd", customer_number="C-MISSED")
    user = zammad.add_user("Pat", "Missed", "pat@missed.example", organization_id=org)
    ticket = zammad.create_ticket("Nobody told the adapter", user)  # no webhook configured
    result = CliRunner().invoke(main, ["reconcile", "--since", "2020-01-01T00:00:00Z"], env=env)
    assert result.exit_code == 0, result.output
    assert "zammad: 1 change(s) queued" in result.output
    assert zammad.ticket(ticket)["entitlement_billable"] is True  # no contract: written back
    # The write-back is a change too (its tags may hide an agent's, see reconcile.py): decided
    # once more, it writes nothing, so the run after finds nothing new: no loop.
    zammad.clear_requests()
    again = CliRunner().invoke(main, ["reconcile"], env=env)
    assert "zammad: 1 change(s) queued" in again.output
    assert [r for r in zammad.requests if r.method in ("PUT", "DELETE")] == []
    assert {r.path for r in zammad.requests if r.method == "POST"} == {"/api/v1/tickets/search"}
    third = CliRunner().invoke(main, ["reconcile"], env=env)
    assert "zammad: 0 change(s) queued" in third.output  # the watermark moved on


def test_reconcile_of_an_unconfigured_helpdesk_says_it_is_not_configured(zammad, database_url):
    env = env_for(zammad, database_url)  # Zammad's settings only; rt is installed and enabled
    result = CliRunner().invoke(main, ["reconcile", "--helpdesk", "rt"], env=env)
    assert result.exit_code == 2
    assert "rt: enabled but not configured" in result.output
    assert "configured: zammad" in result.output
    other = CliRunner().invoke(main, ["reconcile", "--helpdesk", "jira"], env=env)
    assert "jira: not an enabled helpdesk; configured: zammad" in other.output


def test_a_row_failing_longer_than_dead_after_becomes_a_dead_letter(store):
    start = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    day = timedelta(days=1)
    with store.session() as session:
        store.add_outbox(session, "zammad", "82", {"ticket_id": 82}, start)

    def fail_at(at: datetime) -> bool:
        [row] = store.claim("outbox", at, limit=1, lease=timedelta(seconds=30), owner="test")
        return store.fail(row, "HTTP 503", at, retry_in=60, max_attempts=99, max_age=day)

    assert not fail_at(start)
    assert not fail_at(start + timedelta(hours=23))
    assert fail_at(start + day)
    with store.session() as session:
        row_id = session.scalar(select(OutboxRow.id))
        assert store.retry_dead(session, "outbox", row_id, start + 2 * day)
    # put back: its age counts from its next failure, and its history is kept
    assert not fail_at(start + 2 * day)
    with store.session() as session:
        [] = store.dead_letters(session)
        assert len(session.get(OutboxRow, row_id).history) == 5


def test_setup_zammad_finds_its_triggers_behind_a_first_page_of_others(zammad, database_url):
    """Zammad lists triggers and webhooks 500 a page (model_index_render, renders_models.rb)."""
    url = "http://127.0.0.1:9/webhooks/zammad"
    other = zammad.add_webhook("http://127.0.0.1:9/elsewhere", "other-secret", name="Other")
    for n in range(500):
        condition = {"ticket.action": {"operator": "is", "value": "create"}}
        zammad.add_trigger(f"another team's trigger {n}", condition, other, active=False)
    env = env_for(zammad, database_url)
    first = CliRunner().invoke(main, ["setup-zammad", "--webhook-url", url], env=env)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, ["setup-zammad", "--webhook-url", url], env=env)
    assert again.exit_code == 0 and "nothing to do" in again.output, again.output
