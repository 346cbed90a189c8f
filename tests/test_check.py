"""`entitlements check`: broken files are reported with file, line, field and what is wrong."""

import socket

import pytest
from click.testing import CliRunner

from adapter.cli import main
from mappings.plans import shipped_path
from mappings.zammad import attribute_name_problem
from standins.zammad import ZammadRefusal, ZammadStandin

SHIPPED = shipped_path().read_text(encoding="utf-8")


def check(tmp_path, monkeypatch, text):
    (tmp_path / "plans.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("ENTITLEMENTS_MAPPINGS_DIR", str(tmp_path))
    return CliRunner().invoke(main, ["check"])


def line_of(text, fragment):
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_shipped_files_pass(monkeypatch):
    monkeypatch.delenv("ENTITLEMENTS_MAPPINGS_DIR", raising=False)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "ok: " in result.output and "plans.yaml" in result.output


BROKEN = [
    # (case, old text, new text, a fragment of the line expected, field named, message part)
    (
        "unknown key",
        "    free_remote_sessions: 1\n",
        "    free_remote_sessions: 1\n    free_remote_session: 2\n",
        "free_remote_session: 2",
        "plans.basic.free_remote_session",
        "Unknown field",
    ),
    (
        "wrong type",
        "quota: {tickets: 4, per: month}",
        "quota: {tickets: four, per: month}",
        "tickets: four",
        "plans.basic.quota.tickets",
        "Not a valid integer",
    ),
    (
        "value not allowed",
        "quota: {tickets: 8, per: month}",
        "quota: {tickets: 8, per: year}",
        "per: year",
        "plans.pro.quota.per",
        "Must be one of",
    ),
    (
        "reaction unit",
        "reaction: {amount: 3, unit: working_days}",
        "reaction: {amount: 3, unit: days}",
        "unit: days",
        "plans.commissioning.reaction.unit",
        "Must be one of",
    ),
    (
        "placeholder",
        "Dies ist Ticket {used} von {limit}",
        "Dies ist Ticket {usd} von {limit}",
        "{usd}",
        "flags.over_quota.message.de",
        "unknown field(s) {usd}",
    ),
    (
        "missing language",
        "    label: {de: Kein Vertrag, en: No contract}",
        "    label: {de: Kein Vertrag}",
        "label: {de: Kein Vertrag}",
        "flags.no_contract.label",
        "missing language(s): en",
    ),
    (
        "bad time",
        'mon: [["09:00", "16:00"]]',
        'mon: [["9 Uhr", "16:00"]]',
        "9 Uhr",
        "calendar.hours.mon.0.0",
        "not a time of day",
    ),
    (
        "reversed timeframe",
        'tue: [["09:00", "16:00"]]',
        'tue: [["16:00", "09:00"]]',
        'tue: [["16:00"',
        "calendar.hours.tue.0",
        "start before end",
    ),
    (
        "bad closed day",
        "closed_days: []",
        "closed_days: [2026-02-30]",
        "2026-02-30",
        "calendar.closed_days.0",
        "Not a valid date",
    ),
    (
        "term needs weeks",
        "      weeks: 8\n",
        "",
        "      kind: weeks_after_latest",
        "plans.commissioning.term.weeks",
        "required when kind is",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "anchor", "field", "message"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_broken_plans_file_names_file_line_and_field(
    tmp_path, monkeypatch, case, old, new, anchor, field, message
):
    assert old in SHIPPED
    text = SHIPPED.replace(old, new, 1)
    result = check(tmp_path, monkeypatch, text)
    assert result.exit_code == 1
    # a missing key is reported at its parent's line, the line before the anchor here
    line = line_of(text, anchor) - (1 if case == "term needs weeks" else 0)
    expected = f"{tmp_path / 'plans.yaml'}:{line}: {field}: "
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
    assert any(expected in ln and message in ln for ln in errors), result.output


def test_missing_flag_code_is_named(tmp_path, monkeypatch):
    start = SHIPPED.index("  user_level:\n")
    end = SHIPPED.index("  third_party_project:\n")
    result = check(tmp_path, monkeypatch, SHIPPED[:start] + SHIPPED[end:])
    assert result.exit_code == 1
    assert "flags: missing code(s): user_level" in result.output


def test_yaml_syntax_error_names_the_line(tmp_path, monkeypatch):
    text = SHIPPED.replace("  subdivision: BW\n", "  subdivision: [BW\n", 1)
    result = check(tmp_path, monkeypatch, text)
    assert result.exit_code == 1
    assert "plans.yaml:" in result.output and "not valid YAML" in result.output


def test_unknown_country_is_an_error_of_the_calendar(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, SHIPPED.replace("country: DE", "country: XX", 1))
    assert result.exit_code == 1
    assert f"{tmp_path / 'plans.yaml'}:{line_of(SHIPPED, 'calendar:')}: calendar: " in result.output
    assert "XX" in result.output


def test_bad_setting_is_named_without_its_value(monkeypatch):
    monkeypatch.setenv("ENTITLEMENTS_LANGUAGE", "fr")
    monkeypatch.setenv("ENTITLEMENTS_ZAMMAD_URL", "not a url with-secret-looking-text")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert "environment: ENTITLEMENTS_LANGUAGE: Must be one of: de, en." in result.output
    assert "ENTITLEMENTS_ZAMMAD_URL" in result.output
    assert "with-secret-looking-text" not in result.output


def test_config_file_unknown_key_names_its_line(tmp_path, monkeypatch):
    config = tmp_path / "entitlements.yaml"
    config.write_text("LANGUAGE: en\nDATABASE_URLL: sqlite:///x.db\n", encoding="utf-8")
    monkeypatch.setenv("ENTITLEMENTS_CONFIG", str(config))
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert f"{config}:2: DATABASE_URLL: unknown setting" in result.output


ZAMMAD = (
    __import__("mappings.zammad", fromlist=["shipped_path"])
    .shipped_path()
    .read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    ("old", "new", "anchor", "field", "message"),
    [
        (
            "  default: partner",
            "  default: reseller",
            "default: reseller",
            "requesters.default",
            "Must be one of",
        ),
        (
            "    billable: entitlement_billable",
            "    billable: Entitlement-Billable",
            "Entitlement-Billable",
            "write_back.ticket.billable",
            "lower_snake_case",
        ),
        (
            "  ui_building:\n    tags: [ui-building]",
            "  ui_building:\n    tagz: [ui-building]",
            "tagz",
            "categories.ui_building.tagz",
            "Unknown field",
        ),
        (
            "  time_accounting_type_ids: []",
            "  time_accounting_type_ids: [remote]",
            "[remote]",
            "remote_sessions.time_accounting_type_ids.0",
            "Not a valid integer",
        ),
        # Names Zammad's check_name refuses (app/models/object_manager/attribute.rb)
        (
            "    billable: entitlement_billable",
            "    billable: entitlement_billable_id",
            "entitlement_billable_id",
            "write_back.ticket.billable",
            "Zammad refuses attribute names ending in _id or _ids",
        ),
        (
            "    plan: support_plan",
            "    plan: date",
            "plan: date",
            "write_back.organization.plan",
            "'date' is a reserved word in Zammad",
        ),
        (
            "  organization_attribute: customer_number",
            "  organization_attribute: customer_ids",
            "customer_ids",
            "customer_number.organization_attribute",
            "ending in _id or _ids",
        ),
        (
            "  ticket_attribute: entitlement_service",
            "  ticket_attribute: article",
            "ticket_attribute: article",
            "project_services.ticket_attribute",
            "'article' is a reserved word in Zammad (Ticket attributes)",
        ),
        (
            "  ticket_attribute: entitlement_remote_sessions",
            "  ticket_attribute: action",
            "ticket_attribute: action",
            "remote_sessions.ticket_attribute",
            "'action' is a reserved word",
        ),
        (
            "    reasons: entitlement_reasons",
            "    reasons: preferences",  # reserved from Zammad 7 on
            "reasons: preferences",
            "write_back.ticket.reasons",
            "'preferences' is a reserved word",
        ),
    ],
)
def test_broken_zammad_mapping_names_file_line_and_field(
    tmp_path, monkeypatch, old, new, anchor, field, message
):
    assert old in ZAMMAD
    text = ZAMMAD.replace(old, new, 1)
    (tmp_path / "zammad.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("ENTITLEMENTS_MAPPINGS_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    expected = f"{tmp_path / 'zammad.yaml'}:{line_of(text, anchor)}: {field}: "
    assert any(expected in ln and message in ln for ln in result.output.splitlines()), result.output
    assert "ok: " in result.output and "plans.yaml" in result.output  # the shipped one, unchanged


def test_article_is_a_reserved_attribute_name_for_tickets_only(tmp_path, monkeypatch):
    # RESERVED_NAMES_PER_MODEL in app/models/object_manager/attribute.rb
    text = ZAMMAD.replace("  user_attribute: null", "  user_attribute: article", 1)
    (tmp_path / "zammad.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("ENTITLEMENTS_MAPPINGS_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert f"ok: {tmp_path / 'zammad.yaml'}" in result.output


NAMES = [
    "contract_id", "contract_ids", "_id", "_ids", "id", "ids", "x_id_y", "date", "datetime",
    "url", "action", "scope", "constructor", "article", "search", "index", "Plan", "4711",
    "a b", "entitlement_plan", "plan_2", "valid_until", "data", "preferences",
]  # fmt: skip


@pytest.mark.parametrize("object_name", ["Ticket", "User", "Organization"])
def test_check_refuses_every_name_the_zammad_standin_refuses(object_name):
    with ZammadStandin(time_scale=0.01) as zammad:
        for name in NAMES:
            try:
                zammad.add_object_attribute(object_name, name)
            except ZammadRefusal as refused:
                if "already exists" not in str(refused):  # a built-in column, not the name
                    assert attribute_name_problem(name, object_name), (name, str(refused))
            else:
                # Accepted by 6.x. Refused here as well: names reserved from 7.x on, and
                # capitals, which Zammad lowercases (the adapter would write another name).
                problem = attribute_name_problem(name, object_name)
                expected = name in {"data", "preferences"} or name != name.lower()
                assert (problem is not None) == expected, (name, problem)


def check_against(monkeypatch, zammad):
    """`entitlements check` with the settings naming this Zammad: the result, and its warnings."""
    monkeypatch.delenv("ENTITLEMENTS_MAPPINGS_DIR", raising=False)
    monkeypatch.setenv("ENTITLEMENTS_ZAMMAD_URL", zammad.url)
    monkeypatch.setenv("ENTITLEMENTS_ZAMMAD_TOKEN", zammad.token)
    result = CliRunner().invoke(main, ["check"])
    return result, [ln for ln in result.output.splitlines() if ln.startswith("warning: ")]


def test_check_warns_when_zammads_default_makes_every_user_untrained(monkeypatch):
    # A boolean's default goes into every existing row (migration_execute in
    # app/models/object_manager/attribute.rb) and every new one (.../attribute/set_defaults.rb).
    with ZammadStandin(time_scale=0.01) as zammad:
        option = {"default": False, "options": {"true": "yes", "false": "no"}}
        zammad.add_object_attribute("User", "entitlement_trained", "boolean", option)
        result, warnings = check_against(monkeypatch, zammad)
    assert result.exit_code == 0, result.output
    [warning] = warnings
    assert "Zammad's User attribute entitlement_trained has the default false" in warning
    assert "every existing and new user" in warning
    assert "rule `untrained`" in warning and "requester_not_entitled" in warning
    assert "data_option.default null" in warning  # the fix
    assert "User.where(entitlement_trained: false).update_all(entitlement_trained: nil)" in warning


def test_check_warns_about_a_default_that_puts_every_ticket_in_a_category(monkeypatch):
    with ZammadStandin(time_scale=0.01) as zammad:
        option = {"default": "ui_building", "options": {"ui_building": "UI"}}
        zammad.add_object_attribute("Ticket", "entitlement_category", "select", option)
        _result, warnings = check_against(monkeypatch, zammad)
    [warning] = warnings
    assert "every new ticket gets it" in warning  # a string column: new tickets only
    assert "`categories.ui_building`" in warning and "update_all" not in warning


def test_check_is_quiet_about_a_trained_attribute_without_default(monkeypatch):
    with ZammadStandin(time_scale=0.01) as zammad:
        option = {"default": None, "options": {"true": "yes", "false": "no"}}
        zammad.add_object_attribute("User", "entitlement_trained", "boolean", option)
        result, _warnings = check_against(monkeypatch, zammad)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_check_warns_when_the_integration_user_may_not_change_a_support_groups_tickets(
    monkeypatch,
):
    # TicketPolicy (app/policies/ticket_policy.rb): reading needs read, writing back change.
    with ZammadStandin(time_scale=0.01) as zammad:
        zammad.add_group("Sales")
        access = {"Support": ["read"], "Sales": ["full"]}
        zammad.set_group_access(zammad.integration_user_id, access)
        result, warnings = check_against(monkeypatch, zammad)
    assert result.exit_code == 0, result.output
    [warning] = warnings
    assert "may not read and change tickets of the support group 'Support'" in warning
    assert "Grant it full access to the group" in warning


def test_check_without_a_reachable_zammad_warns_and_passes(monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("ENTITLEMENTS_MAPPINGS_DIR", raising=False)
    monkeypatch.setenv("ENTITLEMENTS_ZAMMAD_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ENTITLEMENTS_ZAMMAD_TOKEN", "token")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "warning: could not read Zammad's object attributes" in result.output
