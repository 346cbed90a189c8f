"""`decide`: one case per paid-service code and quota rule of domain.md, from a table."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from adapter.contracts import Licence, contract_from_licence
from adapter.engine import TicketFacts, decide
from adapter.quota import LedgerChange, LedgerEntry, LedgerView
from mappings.plans import load_policy

POLICY = load_policy()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# Wednesday 18 Nov 2026, 10:00 Berlin: inside support hours
CREATED = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def contract(plan="basic", purchased="2026-03-15", id_=None, **licence):
    lic = Licence(id_ or f"LIC-{plan}", "C-100", plan, date.fromisoformat(purchased), **licence)
    return contract_from_licence(lic, POLICY.plan(plan))


def facts(**kw):
    return TicketFacts(
        **{
            "helpdesk": "zammad",
            "ticket_id": 81,
            "created_at": CREATED,
            "customer_number": "C-100",
            **kw,
        }
    )


def run(facts_, contracts, used=None, entries=(), language="en"):
    ledger = LedgerView(used=used or {}, entries=tuple(entries))
    return decide(facts_, contracts, ledger, NOW, policy=POLICY, language=language)


def codes(items):
    return [i.code for i in items]


# (case, plan or None for no contract, ticket facts, tickets already used, flags, counted)
CASES = [
    ("no contract at all", None, {}, 0, ["no_contract"], None),
    ("included ticket", "basic", {}, 0, [], True),
    ("fifth basic ticket in a month is over quota", "basic", {}, 4, ["over_quota"], True),
    ("ninth pro ticket in a month is over quota", "pro", {}, 8, ["over_quota"], True),
    (
        "second commissioning ticket in a week is over quota",
        "commissioning",
        {},
        1,
        ["over_quota"],
        True,
    ),
    (
        "ui building under commissioning",
        "commissioning",
        {"categories": {"ui_building"}},
        0,
        ["ui_building"],
        False,
    ),
    (
        "ui building under basic",
        "basic",
        {"categories": {"ui_building"}},
        0,
        ["ui_building"],
        False,
    ),
    ("ui building under pro is included", "pro", {"categories": {"ui_building"}}, 0, [], True),
    (
        "usage question under basic",
        "basic",
        {"categories": {"usage_question"}},
        0,
        ["user_level"],
        False,
    ),
    (
        "usage question under pro is included",
        "pro",
        {"categories": {"usage_question"}},
        0,
        [],
        True,
    ),
    (
        "third-party project without the option",
        "basic",
        {"categories": {"third_party_project"}},
        0,
        ["third_party_project"],
        True,
    ),
    ("first remote session is free", "basic", {"remote_sessions": 1}, 0, [], True),
    (
        "second remote session is billable",
        "basic",
        {"remote_sessions": 2},
        0,
        ["extra_remote_session"],
        True,
    ),
    (
        "end customer under basic",
        "basic",
        {"requester": "end_customer"},
        0,
        ["requester_not_entitled"],
        False,
    ),
    (
        "end customer under commissioning",
        "commissioning",
        {"requester": "end_customer"},
        0,
        ["requester_not_entitled"],
        False,
    ),
    (
        "power user under basic",
        "basic",
        {"requester": "power_user"},
        0,
        ["requester_not_entitled"],
        False,
    ),
    ("power user under pro", "pro", {"requester": "power_user"}, 0, [], True),
    (
        "trained delegate of the end customer under pro",
        "pro",
        {"requester": "end_customer"},
        0,
        [],
        True,
    ),
    ("untrained partner", "pro", {"trained": False}, 0, ["requester_not_entitled"], False),
    (
        "project service",
        "pro",
        {"categories": {"project_service"}, "service": "Workshop"},
        0,
        ["project_service"],
        False,
    ),
    (
        "after hours without on-call",
        "basic",
        {"categories": {"after_hours"}},
        0,
        ["outside_support_hours"],
        True,
    ),
    (
        "after hours with on-call booking",
        "basic",
        {"categories": {"after_hours"}, "on_call": True},
        0,
        [],
        True,
    ),
    (
        "over quota and a second remote session",
        "basic",
        {"remote_sessions": 3},
        4,
        ["over_quota", "extra_remote_session"],
        True,
    ),
    (
        "ui building does not use quota even when the quota is gone",
        "basic",
        {"categories": {"ui_building"}},
        4,
        ["ui_building"],
        False,
    ),
    (
        "not a support queue: not counted, not billable",
        "basic",
        {"support_queue": False},
        0,
        [],
        False,
    ),
    ("does-not-count marker", "basic", {"does_not_count": "marker"}, 0, [], False),
]


@pytest.mark.parametrize(
    ("case", "plan", "kw", "used", "flags", "counted"), CASES, ids=[c[0] for c in CASES]
)
def test_paid_service_flags(case, plan, kw, used, flags, counted):
    kw = {k: frozenset(v) if isinstance(v, set) else v for k, v in kw.items()}
    period = "2026-W47" if plan == "commissioning" else "2026-11"
    purchased = {"commissioning": "2026-11-02"}.get(plan, "2026-03-15")
    contracts = [contract(plan, purchased)] if plan else []
    decision = run(facts(**kw), contracts, {(f"LIC-{plan}", period): used})
    assert codes(decision.flags) == flags
    assert decision.billable is bool(flags)
    if counted is None:
        assert decision.quota is None
    else:
        assert decision.quota.counted is counted
        assert decision.quota.used == used + (1 if counted else 0)
        assert [c.action for c in decision.ledger] == (["count"] if counted else [])


def test_flag_messages_name_the_numbers_and_the_language():
    decision = run(facts(), [contract("basic")], {("LIC-basic", "2026-11"): 4}, language="de")
    assert decision.flags[0].message.startswith("Dies ist Ticket 5 von 4 im Zeitraum Nov 2026")
    assert codes(decision.warnings) == ["quota_exceeded"]
    project = run(
        facts(categories=frozenset({"project_service"}), service="Planungsworkshop"),
        [contract("pro")],
    )
    assert "Planungsworkshop" in project.flags[0].message


def test_last_free_ticket_warns():
    decision = run(facts(), [contract("basic")], {("LIC-basic", "2026-11"): 3})
    assert codes(decision.warnings) == ["quota_last"]
    assert not decision.billable
    assert decision.quota.label == "4/4 Nov 2026"


def test_decision_has_the_design_shape():
    created = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)  # Fri 17:30 Berlin
    decision = run(
        facts(created_at=created), [contract("basic", id_="LIC-1001")], {("LIC-1001", "2026-11"): 4}
    )
    assert decision.to_dict() == {
        "ticket": {"helpdesk": "zammad", "id": 81},
        "plan": "basic",
        "contract": {
            "id": "LIC-1001",
            "valid_from": "2026-03-15",
            "valid_until": "2027-12-31",
            "notice_by": "2027-09-30",
            "status": "active",
        },
        "quota": {"period": "2026-11", "used": 5, "limit": 4, "counted": True},
        "reaction_due": "2026-12-02T08:00:00Z",
        "billable": True,
        "flags": [{"code": "over_quota", "message": decision.flags[0].message}],
        "warnings": [{"code": "quota_exceeded", "message": decision.warnings[0].message}],
    }


@pytest.mark.parametrize(
    ("plan", "created", "due"),
    [
        ("basic", "2026-11-27T16:30:00Z", "2026-12-02T08:00:00Z"),  # Fri after hours: Wed 09:00
        ("basic", "2026-11-18T09:00:00Z", "2026-11-20T09:00:00Z"),  # Wed 10:00: Fri 10:00
        ("commissioning", "2026-11-18T09:00:00Z", "2026-11-23T09:00:00Z"),  # 3 working days
    ],
)
def test_reaction_due_follows_the_plan(plan, created, due):
    purchased = "2026-11-02" if plan == "commissioning" else "2026-03-15"
    decision = run(facts(created_at=datetime.fromisoformat(created)), [contract(plan, purchased)])
    assert decision.to_dict()["reaction_due"] == due


def test_expired_contract_is_no_contract_and_shows_when_it_ended():
    expired = contract("commissioning", "2026-01-15")
    decision = run(facts(), [expired])
    assert codes(decision.flags) == ["no_contract"]
    assert decision.plan is None and decision.reaction_due is None
    assert decision.contract.status == "expired"
    assert decision.contract.valid_until == date(2026, 3, 12)


def test_contract_not_yet_started_is_no_contract():
    decision = run(facts(), [contract("basic", "2026-12-01")])
    assert codes(decision.flags) == ["no_contract"]
    assert decision.contract.status == "not_started"  # as of now, 30 Nov


def test_project_service_without_contract_carries_both_flags():
    decision = run(facts(categories=frozenset({"project_service"}), service="Demo licence"), [])
    assert codes(decision.flags) == ["no_contract", "project_service"]


# --- the ledger: a ticket counts once, gives its count back, never counts twice ---


def test_a_ticket_already_counted_is_not_counted_again():
    entry = LedgerEntry("LIC-basic", "2026-11", ordinal=2)
    decision = run(facts(), [contract("basic")], {("LIC-basic", "2026-11"): 5}, [entry])
    assert decision.quota.counted and decision.quota.used == 2  # its place, not today's count
    assert decision.ledger == ()
    assert not decision.billable


def test_an_update_of_an_over_quota_ticket_stays_over_quota():
    entry = LedgerEntry("LIC-basic", "2026-11", ordinal=5)
    decision = run(facts(), [contract("basic")], {("LIC-basic", "2026-11"): 5}, [entry])
    assert codes(decision.flags) == ["over_quota"]
    assert decision.ledger == ()


@pytest.mark.parametrize("reason", ["merged", "spam", "marker"])
def test_merged_spam_or_marked_ticket_gives_its_count_back(reason):
    entry = LedgerEntry("LIC-basic", "2026-11", ordinal=2)
    decision = run(
        facts(does_not_count=reason), [contract("basic")], {("LIC-basic", "2026-11"): 3}, [entry]
    )
    assert not decision.quota.counted and decision.quota.used == 2
    assert decision.ledger == (LedgerChange("release", "LIC-basic", "2026-11", 2, reason),)


def test_a_ticket_whose_count_was_given_back_counts_again_when_it_qualifies_again():
    entry = LedgerEntry("LIC-basic", "2026-11", ordinal=2, released_reason="marker")
    decision = run(facts(), [contract("basic")], {("LIC-basic", "2026-11"): 1}, [entry])
    assert decision.ledger == (LedgerChange("count", "LIC-basic", "2026-11", 2),)


def test_a_counted_ticket_reclassified_as_not_covered_gives_its_count_back():
    entry = LedgerEntry("LIC-basic", "2026-11", ordinal=1)
    decision = run(
        facts(categories=frozenset({"ui_building"})),
        [contract("basic")],
        {("LIC-basic", "2026-11"): 1},
        [entry],
    )
    assert decision.ledger == (LedgerChange("release", "LIC-basic", "2026-11", 1, "ui_building"),)


def test_count_held_by_a_contract_that_no_longer_covers_goes_back():
    entry = LedgerEntry("LIC-gone", "2026-11", ordinal=1)
    decision = run(facts(), [], {}, [entry])
    assert decision.ledger == (LedgerChange("release", "LIC-gone", "2026-11", 1, "no_contract"),)


# --- several contracts: best plan with quota, then the one ending first ---


def test_several_contracts_pro_before_basic():
    decision = run(facts(), [contract("basic"), contract("pro")])
    assert decision.plan == "pro"


def test_several_contracts_basic_when_pro_has_no_quota_left():
    decision = run(facts(), [contract("pro"), contract("basic")], {("LIC-pro", "2026-11"): 8})
    assert decision.plan == "basic" and not decision.billable


def test_several_contracts_all_exhausted_charges_the_best_plan():
    used = {("LIC-pro", "2026-11"): 8, ("LIC-basic", "2026-11"): 4}
    decision = run(facts(), [contract("basic"), contract("pro")], used)
    assert decision.plan == "pro" and codes(decision.flags) == ["over_quota"]


def test_several_contracts_of_one_plan_the_one_ending_first():
    older = contract("basic", "2025-06-01", id_="LIC-old")  # ends 2026-12-31
    newer = contract("basic", "2026-02-01", id_="LIC-new")  # ends 2027-12-31
    assert run(facts(), [newer, older]).contract.id == "LIC-old"


def test_several_contracts_a_covered_plan_wins_over_one_with_quota_that_does_not_cover():
    used = {("LIC-pro", "2026-11"): 8}
    decision = run(
        facts(categories=frozenset({"ui_building"})), [contract("basic"), contract("pro")], used
    )
    assert decision.plan == "pro" and codes(decision.flags) == ["over_quota"]


def test_a_counted_ticket_stays_on_its_contract():
    entry = LedgerEntry("LIC-basic", "2026-11", ordinal=1)
    decision = run(
        facts(), [contract("pro"), contract("basic")], {("LIC-basic", "2026-11"): 1}, [entry]
    )
    assert decision.plan == "basic" and decision.ledger == ()


def test_quota_across_an_iso_week_spanning_two_years():
    c = contract("commissioning", "2026-12-20")
    thursday = facts(created_at=datetime(2026, 12, 31, 10, 0, tzinfo=UTC))
    sunday = facts(ticket_id=82, created_at=datetime(2027, 1, 3, 10, 0, tzinfo=UTC))
    monday = facts(ticket_id=83, created_at=datetime(2027, 1, 4, 10, 0, tzinfo=UTC))
    first = run(thursday, [c])
    assert first.quota.period == "2026-W53" and codes(first.warnings) == ["quota_last"]
    second = run(sunday, [c], {("LIC-commissioning", "2026-W53"): 1})
    assert second.quota.period == "2026-W53" and codes(second.flags) == ["over_quota"]
    third = run(monday, [c], {("LIC-commissioning", "2026-W53"): 2})
    assert third.quota.period == "2027-W01" and not third.billable and third.quota.used == 1


def test_decide_is_deterministic_and_order_independent():
    contracts = [contract("basic"), contract("pro"), contract("commissioning", "2026-11-02")]
    ticket = facts(categories=frozenset({"usage_question"}), remote_sessions=2)
    first = run(ticket, contracts)
    assert run(ticket, list(reversed(contracts))) == first
    assert run(ticket, contracts).to_dict() == first.to_dict()


def test_ticket_id_and_helpdesk_are_echoed():
    decision = run(replace(facts(), ticket_id="T-9", helpdesk="other"), [contract()])
    assert decision.to_dict()["ticket"] == {"helpdesk": "other", "id": "T-9"}
