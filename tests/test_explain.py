"""`entitlements explain`: the decision for a hypothetical ticket, as text for people and as
the decision shape."""

import json
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from adapter.cli import main
from adapter.contracts import Licence
from adapter.licences import store_licences
from mappings.plans import load_policy

BASIC = ["explain", "--plan", "basic", "--purchased", "2026-03-15"]
FRIDAY_EVENING = ["--created", "2026-11-27T17:30:00+01:00"]


def explain(*args, env=None):
    return CliRunner().invoke(main, [*BASIC, *FRIDAY_EVENING, *args], env=env)


def test_json_is_the_decision_shape():
    result = explain("--used", "4", "--format", "json", "--language", "en")
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["plan"] == "basic"
    assert decision["quota"] == {"period": "2026-11", "used": 5, "limit": 4, "counted": True}
    assert decision["reaction_due"] == "2026-12-02T08:00:00Z"
    assert decision["billable"] is True
    assert [f["code"] for f in decision["flags"]] == ["over_quota"]
    assert decision["flags"][0]["message"].startswith("This is ticket 5 of 4 in Nov 2026")
    assert [w["code"] for w in decision["warnings"]] == ["quota_exceeded"]


def test_text_in_english():
    result = explain("--used", "4", "--language", "en")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Plan: Basic support" in lines
    assert (
        "Hypothetical contract: valid 2026-03-15 – 2027-12-31, notice by 2027-09-30 (active)"
        in lines
    )
    assert "Quota: 5/4 Nov 2026 (counted)" in lines
    assert "Reaction due: Wed 2026-12-02 09:00 CET (2026-12-02T08:00Z)" in lines
    assert "Billable: yes" in lines
    assert any(line.startswith("  - Over quota: This is ticket 5 of 4") for line in lines)


def test_text_language_comes_from_the_setting():
    result = explain("--category", "ui_building", env={"ENTITLEMENTS_LANGUAGE": "en"})
    assert "Billable: yes" in result.output
    assert "  - User interface building: Help building or maintaining user" in result.output
    german = explain("--category", "ui_building", env={"ENTITLEMENTS_LANGUAGE": "de"})
    assert "Kostenpflichtig: ja" in german.output


def test_every_ticket_option_reaches_the_decision():
    result = CliRunner().invoke(
        main,
        [
            "explain",
            "--plan",
            "pro",
            "--purchased",
            "2026-03-15",
            "--created",
            "2026-11-18T10:00:00+01:00",
            "--category",
            "third_party_project",
            "--category",
            "after_hours",
            "--remote-sessions",
            "2",
            "--requester",
            "end_customer",
            "--untrained",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    # in domain.md's order
    assert [f["code"] for f in json.loads(result.output)["flags"]] == [
        "third_party_project",
        "extra_remote_session",
        "requester_not_entitled",
        "outside_support_hours",
    ]


def test_option_third_party_projects_books_it():
    result = CliRunner().invoke(
        main,
        [
            "explain",
            "--plan",
            "basic",
            "--purchased",
            "2026-03-15",
            "--created",
            "2026-11-18T10:00:00+01:00",
            "--category",
            "third_party_project",
            "--option",
            "third_party_projects",
            "--format",
            "json",
        ],
    )
    assert json.loads(result.output)["billable"] is False


def test_commissioning_dates_and_cancellation():
    result = CliRunner().invoke(
        main,
        [
            "explain",
            "--plan",
            "commissioning",
            "--purchased",
            "2026-10-01",
            "--accepted",
            "2026-10-20",
            "--go-live",
            "2026-11-02",
            "--created",
            "2026-11-18T10:00:00+01:00",
            "--format",
            "json",
        ],
    )
    assert json.loads(result.output)["contract"]["valid_until"] == "2026-12-28"
    cancelled = explain("--cancelled", "2026-10-15", "--format", "json")
    assert json.loads(cancelled.output)["contract"]["valid_until"] == "2027-12-31"


def test_project_service_names_the_service():
    result = explain(
        "--category", "project_service", "--service", "Planungsworkshop", "--language", "de"
    )
    assert "Projektleistung (Planungsworkshop)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["explain", "--created", "2026-11-27T17:30:00+01:00"],
            "either --customer NUMBER or --plan",
        ),
        ([*BASIC, "--customer", "C-1"], "either --customer NUMBER or --plan"),
        (["explain", "--plan", "basic"], "--plan needs --purchased"),
        ([*BASIC, "--created", "2026-11-27T17:30:00"], "needs a UTC offset"),
        ([*BASIC, "--created", "Friday"], "not an ISO 8601 date and time"),
        (["explain", "--plan", "gold", "--purchased", "2026-01-01"], "unknown plan"),
        (["explain", "--plan", "basic", "--purchased", "2026-13-01"], "not a date YYYY-MM-DD"),
        ([*BASIC, "--category", "hardware"], "'hardware' is not one of"),
        ([*BASIC, "--used", "-1"], "-1 is not in the range"),
    ],
)
def test_bad_options_are_named(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output


# The ticket's date, not today's


COMMISSIONED_2024 = [
    *("explain", "--plan", "commissioning", "--purchased", "2024-01-08"),
    *("--go-live", "2024-01-15", "--created", "2024-02-13T10:00:00+01:00"),
]


def test_a_contract_long_expired_shows_its_status_on_the_tickets_day():
    text = CliRunner().invoke(main, [*COMMISSIONED_2024, "--language", "en"])
    assert text.exit_code == 0, text.output
    assert "Plan: Commissioning support" in text.output
    assert "Hypothetical contract: valid 2024-01-08 – 2024-03-11 (active)" in text.output
    assert "expired" not in text.output
    decision = json.loads(CliRunner().invoke(main, [*COMMISSIONED_2024, "--format", "json"]).output)
    assert decision["plan"] == "commissioning"
    assert decision["contract"]["status"] == "active"  # today it is expired
    assert date.fromisoformat(decision["contract"]["valid_until"]) < date.today()


def test_a_stored_contract_long_expired_shows_its_status_on_the_tickets_day(database_url, store):
    policy = load_policy()
    sold = Licence(
        "LIC-OLD", "C-OLD", "commissioning", date(2024, 1, 8), go_live_on=date(2024, 1, 15)
    )
    with store.session() as session:
        store_licences(store, session, policy, [sold], "import", datetime.now(UTC), helpdesks=())
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}
    asked = ["explain", "--customer", "C-OLD", "--created", "2024-02-13T10:00:00+01:00"]
    german = CliRunner().invoke(main, [*asked, "--language", "de"], env=env)
    assert german.exit_code == 0, german.output
    assert "Plan: Inbetriebnahme Support" in german.output
    assert "Vertrag LIC-OLD: gültig 2024-01-08 – 2024-03-11 (aktiv)" in german.output
    after = CliRunner().invoke(
        main,
        [
            "explain",
            "--customer",
            "C-OLD",
            "--created",
            "2024-06-03T10:00:00+02:00",
            "--language",
            "en",
        ],
        env=env,
    )
    assert "Contract LIC-OLD: valid 2024-01-08 – 2024-03-11 (expired)" in after.output
    assert "Plan: none" in after.output


@pytest.mark.parametrize(
    ("language", "line"),
    [
        (
            "en",
            "Hypothetical ticket, created Fri 2026-12-25 10:00 CET (public holiday: Christmas Day)",
        ),
        (
            "de",
            "Angenommenes Ticket, erstellt Fr 2026-12-25 10:00 CET"
            " (Feiertag: Erster Weihnachtstag)",
        ),
    ],
)
def test_a_ticket_on_a_public_holiday_says_so(language, line):
    result = CliRunner().invoke(
        main, [*BASIC, "--created", "2026-12-25T10:00:00+01:00", "--language", language]
    )
    assert result.output.splitlines()[0] == line
    working_day = CliRunner().invoke(
        main, [*BASIC, "--created", "2026-12-28T10:00:00+01:00", "--language", language]
    )
    assert "(" not in working_day.output.splitlines()[0]


def test_german_text_names_flags_and_warnings_by_their_german_labels():
    result = explain("--used", "4", "--language", "de")
    lines = result.output.splitlines()
    assert (
        "Angenommener Vertrag: gültig 2026-03-15 – 2027-12-31, Kündigung bis 2027-09-30 (aktiv)"
        in lines
    )
    assert any(
        line.startswith("  - Kontingent überschritten: Dies ist Ticket 5 von 4") for line in lines
    )
    assert any(line.startswith("  - Kontingent erschöpft: ") for line in lines)
    assert "over_quota" not in result.output and "explain" not in result.output
