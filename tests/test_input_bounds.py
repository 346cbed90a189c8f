"""The bounds of `adapter.limits` on the command line and in the parts it is made of: dates
outside the years 1970 to 2200, JSON nested too deep or with unpaired surrogates, row ids
beyond 64 bits. Each is refused with a message naming the option, row or field, never with a
traceback. (The HTTP side is in test_fuzz.py.)"""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from adapter.admin import parse_dead_letter_key
from adapter.cli import main
from adapter.limits import MAX_JSON_DEPTH, UnacceptableJson, loads
from adapter.oncall import Booking, validate_booking
from adapter.store import Store
from adapter.store.models import ContractRow, LicenceRow

OUT_OF_RANGE = "must lie between 1970-01-01 and 2200-12-31"


@pytest.fixture
def run(database_url: str, store: Store) -> Any:
    def invoke(*args: str) -> Result:
        env = {"ENTITLEMENTS_DATABASE_URL": database_url}
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def licences_and_contracts(store: Store) -> tuple[int, int]:
    with store.session() as session:
        return len(session.query(LicenceRow).all()), len(session.query(ContractRow).all())


def assert_refused(result: Result, *expected: str) -> None:
    """A usage error or a refusal: a non-zero exit with the message, not an exception."""
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output, result.output


# --- explain ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--purchased", "9999-12-31"),
        ("--purchased", "0001-01-01"),
        ("--accepted", "9999-12-31"),
        ("--go-live", "9999-12-31"),
        ("--cancelled", "9999-12-31"),
        ("--created", "9999-12-31T23:59:59-12:00"),
        ("--created", "0001-01-01T00:00:00+14:00"),
        ("--created", "2201-01-01T00:00:00Z"),
    ],
)
def test_explain_refuses_a_date_outside_the_years_1970_to_2200_naming_the_option(
    option: str, value: str
) -> None:
    args = {"--plan": "commissioning", "--purchased": "2026-03-15"}
    args[option] = value
    result = CliRunner().invoke(main, ["explain", *(x for kv in args.items() for x in kv)])
    assert_refused(result, f"Invalid value for '{option}'", f"{OUT_OF_RANGE}, not {value[:10]}")


def test_explain_takes_the_first_and_last_day_of_the_range() -> None:
    result = CliRunner().invoke(
        main,
        [
            "explain",
            "--plan",
            "basic",
            "--purchased",
            "1970-01-01",
            "--created",
            "2200-12-31T23:59:59-12:00",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["contract"]["valid_from"] == "1970-01-01"


@pytest.mark.parametrize("command", [["purge", "--before"], ["replay", "--since"]])
def test_other_date_time_options_are_bounded_too(run: Any, command: list[str]) -> None:
    result = run(*command, "0001-01-01T00:00:00+14:00")
    assert_refused(result, f"Invalid value for '{command[1]}'", OUT_OF_RANGE)


# --- import-licences ------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


LICENCE = {"licence_id": "L-1", "customer_number": "C-1", "plan": "basic"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "year-9999.json",
            json.dumps([{**LICENCE, "purchased_on": "9999-12-31"}]),
            f"row 1 purchased_on: {OUT_OF_RANGE}, not 9999-12-31",
        ),
        (
            "notice-9999.json",
            json.dumps(
                [
                    {
                        **LICENCE,
                        "purchased_on": "2026-01-01",
                        "status": "cancelled",
                        "cancelled_on": "9999-12-31",
                    }
                ]
            ),
            f"row 1 cancelled_on: {OUT_OF_RANGE}",
        ),
        (
            "year-1.csv",
            "licence_id,customer_number,plan,purchased_on\nL-1,C-1,basic,0001-01-01\n",
            f"year-1.csv:2: row 1 purchased_on: {OUT_OF_RANGE}",
        ),
        (
            "deep.json",
            "[" * 100_000 + "]" * 100_000,
            f"nested deeper than {MAX_JSON_DEPTH} levels",
        ),
        (
            "surrogate.json",
            '[{"licence_id": "L-\\ud800", "customer_number": "C-1", "plan": "basic", '
            '"purchased_on": "2026-01-01"}]',
            "[0].licence_id: not accepted: a string with an unpaired surrogate",
        ),
        ("latin-1.csv", "licence_id\nL-é\n".encode("latin-1"), "not UTF-8 text"),
        (
            "huge-cell.csv",
            "licence_id,customer_number,plan,purchased_on\nL-1,C-1,basic,2026-01-01,"
            + "x" * 200_000
            + "\n",
            "not valid CSV: field larger than field limit",
        ),
    ],
)
def test_import_refuses_what_the_store_or_parser_cannot_take_and_imports_nothing(
    tmp_path: Path, run: Any, store: Store, name: str, content: str | bytes, message: str
) -> None:
    result = run("import-licences", write(tmp_path, name, content))
    assert_refused(result, message, "nothing was imported")
    assert result.output.count("error:") == 1, result.output  # no second, misleading error
    assert licences_and_contracts(store) == (0, 0)


# --- billing and on-call ----------------------------------------------------------------------


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1969-12", "2201-01"])
def test_billing_export_refuses_a_month_outside_the_range(run: Any, month: str) -> None:
    result = run("billing", "export", "--month", month)
    assert_refused(result, "Invalid value for '--month'", "between 1970-01 and 2200-12")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--day", "9999-12-31", f"days {OUT_OF_RANGE}: 9999-12-31"),
        ("--employees", str(10**23), "book at most 100 employees"),
        ("--hours", "nan", "at most 24"),
        ("--hours", "inf", "at most 24"),
    ],
)
def test_on_call_book_refuses_extreme_values_and_stores_nothing(
    run: Any, store: Store, option: str, value: str, message: str
) -> None:
    values = {"--day": "2200-06-02", "--employees": "1", "--hours": "2"}
    values[option] = value
    args = [x for kv in values.items() for x in kv]
    result = run("on-call", "book", "--customer", "C-1", "--from", "18:00", "--to", "22:00", *args)
    assert_refused(result, message, "the booking was not made")
    with store.session() as session:
        assert store.bookings(session, None) == []


def test_validate_booking_names_extreme_values_instead_of_failing_on_them() -> None:
    booking = Booking("C-1", (date(2200, 12, 31),), time(18), time(22), 10**23, 1e308)
    errors = validate_booking(booking, today=date(2026, 12, 1))
    assert errors == [
        "book at most 100 employees",
        "book a number of working hours a day of at most 24",
    ]


# --- dead letters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [f"outbox-{2**63}", f"inbox-{10**23}", "outbox-²", "outbox-٣", "outbox--1", "outbox-"],
)
def test_a_dead_letter_id_that_no_row_can_have_is_no_dead_letter(run: Any, key: str) -> None:
    assert parse_dead_letter_key(key) is None
    assert_refused(run("dead-letters", "retry", key), "an ID as listed")


def test_the_largest_64_bit_row_id_is_still_an_id() -> None:
    assert parse_dead_letter_key(f"outbox-{2**63 - 1}") == ("outbox", 2**63 - 1)


# --- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"a":', "}")])
def test_json_deeper_than_the_limit_is_refused(depth: int, opening: str, closing: str) -> None:
    with pytest.raises(UnacceptableJson, match="nested deeper than") as refused:
        loads(opening * depth + "1" * (opening == '{"a":') + closing * depth)
    assert refused.value.path == ""


@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"a":', "}")])
def test_json_at_the_limit_is_parsed(opening: str, closing: str) -> None:
    text = opening * MAX_JSON_DEPTH + "1" * (opening == '{"a":') + closing * MAX_JSON_DEPTH
    assert loads(text) == json.loads(text)


def test_an_unpaired_surrogate_is_refused_naming_where_and_a_pair_is_text() -> None:
    with pytest.raises(UnacceptableJson) as refused:
        loads('{"licences": [{"plan": "basic"}, {"plan": "\\udc00"}]}')
    assert refused.value.path == "licences[1].plan"
    assert loads('{"name": "\\ud83d\\ude00"}') == {"name": "😀"}
