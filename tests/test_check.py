"""`entitlements check`: broken files are reported with file, line, field and what is wrong."""

import pytest
from click.testing import CliRunner

from adapter.cli import main
from mappings.plans import shipped_path

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
