"""The customer statement (`entitlements statement`, the admin page's link): its figures in
both languages (tickets per quota period, billable tickets with their reasons, the month's
lines with amounts and totals, on-call days), as HTML, CSV and PDF."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from adapter.app import create_app
from adapter.cli import main
from adapter.decisions import decide_ticket, record
from adapter.engine import AccountedTime, TicketFacts
from adapter.oncall import Booking
from adapter.services import Services, build_services
from adapter.settings import Settings
from adapter.statement import (
    build_statement,
    money,
    parse_month,
    pdf_unavailable,
    render_csv,
    render_html,
    render_pdf,
)
from connectors.zammad.settings import ZammadSettings
from mappings.prices import load_prices, shipped_path
from tests.admin_helpers import ADMIN_TOKEN, licence

TODAY = date(2026, 12, 2)
PRICES = {
    "  ui_building: null": "  ui_building: 40.00",
    "  over_quota: null": "  over_quota: 50.00",
    "  outside_support_hours: null": "  outside_support_hours: 60.00",
    "  base_fee: null": "  base_fee: 150.00",
}


class Desk:
    """A helpdesk that records what it would write back, and writes nothing."""

    name = "zammad"
    language = "de"

    def write_back(self, decision: Any, facts: Any, *, note: bool) -> dict[str, Any]:
        return {"ticket": str(facts.ticket_id), "note": note}


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)  # +1 h in Berlin


def ticket(services: Services, number: str, ticket_id: int, created: datetime, **facts) -> None:
    facts = TicketFacts("zammad", ticket_id, created, number, **facts)
    store = services.store
    with store.session() as session:
        decided = decide_ticket(store, session, services.policy, Desk(), facts, created)
        record(store, session, Desk(), decided)


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    text = shipped_path().read_text(encoding="utf-8")
    for old, new in PRICES.items():
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "prices.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture
def services(database_url: str, store: Any, mappings: Path) -> Services:
    """C-100 (basic) in November 2026: six tickets, five counted (the fifth over the quota),
    one about building user interfaces (45 min: two half hours at 40.00), the fifth counted
    one with 20 min (one half hour at 50.00), and two employees on call on Sat 14 Nov (two
    base fees at 150.00): 430.00 EUR. Around it: C-100's tickets of October and December,
    and C-200's November ticket and on-call, none of which is C-100's statement's."""
    settings = Settings(
        database_url=database_url,
        mappings_dir=mappings,
        admin_token=ADMIN_TOKEN,
        language="en",
        provider_settings={"zammad": ZammadSettings(webhook_secret="s")},
    )
    services = build_services(settings, store=store)
    policy = services.policy
    licence(store, policy, "C-100", "basic", "Awesome Customer Inc.")
    licence(store, policy, "C-200", "pro", "Gamma Media KG")
    ticket(services, "C-100", 100, at(10, 30))
    ticket(services, "C-100", 101, at(11, 2))
    ui_time = (AccountedTime("a-102", at(11, 3, 9, 15), 45),)
    ticket(services, "C-100", 102, at(11, 3), categories=frozenset({"ui_building"}), time=ui_time)
    for number, day in ((103, 4), (104, 5), (105, 6)):
        ticket(services, "C-100", number, at(11, day))
    over_time = (AccountedTime("a-106", at(11, 9, 9, 30), 20),)
    ticket(services, "C-100", 106, at(11, 9), time=over_time)
    ticket(services, "C-100", 107, at(12, 1))
    after_hours = (AccountedTime("a-201", at(11, 10, 18), 30),)
    ticket(
        services,
        "C-200",
        201,
        at(11, 10, 18),
        categories=frozenset({"after_hours"}),
        time=after_hours,
    )
    with store.session() as session:
        for number, employees in (("C-100", 2), ("C-200", 1)):
            booking = Booking(number, (date(2026, 11, 14),), time(8), time(18), employees, 12.0)
            store.add_booking(session, booking, at(10, 1))
    return services


def statement(services: Services, language: str, customer: str = "C-100") -> Any:
    prices = load_prices(services.settings.mapping("prices.yaml"))
    return build_statement(
        services.store, services.policy, prices, customer, 2026, 11, language, TODAY
    )


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, element_id
    return found.group(1)


def test_the_statement_has_the_months_figures(services):
    s = statement(services, "en")
    assert (len(s.tickets), s.counted_tickets, len(s.billable_tickets)) == (6, 5, 2)
    assert [t.ticket_id for t in s.tickets] == ["101", "102", "103", "104", "105", "106"]
    [period] = s.periods
    assert (period.contract, period.period, period.used, period.limit, period.over) == (
        "LIC-C-100",
        "2026-11",
        5,
        4,
        1,
    )
    assert [(line.code, line.amount) for line in s.lines] == [
        ("ui_building", Decimal("80.00")),
        ("over_quota", Decimal("50.00")),
        ("on_call_base_fee", Decimal("150.00")),
        ("on_call_base_fee", Decimal("150.00")),
    ]
    assert s.totals == {"EUR": Decimal("430.00")} and s.unpriced == 0
    [day] = s.on_call
    assert (day.day, day.start, day.end, day.employees, day.amount) == (
        date(2026, 11, 14),
        time(8),
        time(18),
        2,
        Decimal("300.00"),
    )


def test_the_statement_in_english(services):
    html = render_html(statement(services, "en"), services.policy)
    assert "<h1>Statement · November 2026</h1>" in html
    assert (text_of(html, "tickets-total"), text_of(html, "tickets-counted")) == ("6", "5")
    assert text_of(html, "tickets-billable") == "2"
    assert text_of(html, "customer-name") == "Awesome Customer Inc."
    period = re.search(r'data-period="2026-11">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'class="number[^"]*">(\d+)<', period) == ["5", "4", "1"]
    assert "Help building or maintaining user interfaces is not included in Basic support" in html
    assert "This is ticket 5 of 4 in Nov 2026 (Basic support)" in html
    for amount in ("80.00 EUR", "50.00 EUR", "150.00 EUR", "300.00 EUR"):
        assert amount in html, amount
    total = re.search(r'<tr class="total" data-currency="EUR">(.*?)</tr>', html, re.S).group(1)
    assert "Total" in total and "430.00 EUR" in total
    assert "14 Nov 2026" in html and "08:00–18:00" in html and "On-call base fee" in html
    assert "2 × 30 min" in html and "1 × 30 min" in html


def test_the_statement_in_german(services):
    html = render_html(statement(services, "de"), services.policy)
    assert '<html lang="de">' in html
    assert "<h1>Leistungsnachweis · November 2026</h1>" in html
    assert (text_of(html, "tickets-total"), text_of(html, "tickets-counted")) == ("6", "5")
    assert text_of(html, "tickets-billable") == "2"
    period = re.search(r'data-period="2026-11">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'class="number[^"]*">(\d+)<', period) == ["5", "4", "1"]
    assert "Hilfe bei Erstellung und Pflege von Benutzeroberflächen ist in Basic Support" in html
    assert "Dies ist Ticket 5 von 4 im Zeitraum Nov 2026 (Basic Support)" in html
    for amount in ("80,00 EUR", "50,00 EUR", "150,00 EUR", "300,00 EUR"):
        assert amount in html, amount
    total = re.search(r'<tr class="total" data-currency="EUR">(.*?)</tr>', html, re.S).group(1)
    assert "Summe" in total and "430,00 EUR" in total
    assert "14.11.2026" in html and "Grundgebühr Rufbereitschaft" in html
    assert "Rufbereitschaft" in html and "Kostenpflichtige Tickets" in html
    assert "2 × 30 Min." in html
    for english in ("Statement", "Total", "Billable tickets", "On-call base fee", "This is"):
        assert english not in html, english


def test_another_customers_statement_has_only_its_own(services):
    s = statement(services, "en", customer="C-200")
    assert [t.ticket_id for t in s.tickets] == ["201"]
    assert [(line.code, line.amount) for line in s.lines] == [
        ("outside_support_hours", Decimal("60.00")),
        ("on_call_base_fee", Decimal("150.00")),
    ]
    assert s.totals == {"EUR": Decimal("210.00")}


def test_the_statement_as_csv(services):
    rows = list(csv.reader(io.StringIO(render_csv(statement(services, "de"), services.policy))))
    header, *body = rows
    assert header == ["Leistungsnachweis", "Datum", "Ticket", "Leistung", "Menge", "Betrag", ""]
    sections = [row[0] for row in body]
    assert sections.count("Kostenpflichtige Tickets") == 2
    assert sections.count("Abrechnungspositionen") == 4
    assert body[0][:5] == [
        "Tickets je Kontingentzeitraum",
        "",
        "LIC-C-100",
        "Basic Support, Nov 2026",
        "5/4",
    ]
    assert body[-1] == ["Summe", "", "", "", "", "430.00", "EUR"]
    amounts = [Decimal(row[5]) for row in body if row[0] == "Abrechnungspositionen"]
    assert sum(amounts) == Decimal("430.00")


def test_amounts_are_written_as_each_language_writes_them():
    assert money(Decimal("1234.5"), "EUR", "de") == "1.234,50 EUR"
    assert money(Decimal("1234.5"), "EUR", "en") == "1,234.50 EUR"
    assert money(None, "EUR", "de") == ""


def test_a_month_is_read_and_bounded():
    assert parse_month("2026-11") == (2026, 11)
    for bad in ("2026-13", "11/2026", "2026-1", "9999-01"):
        with pytest.raises(ValueError):
            parse_month(bad)


PDF_SKIP = pdf_unavailable()


@pytest.mark.skipif(PDF_SKIP is not None, reason=PDF_SKIP or "")
def test_the_statement_as_pdf(services):
    pdf = render_pdf(render_html(statement(services, "de"), services.policy))
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]


# --- the command --------------------------------------------------------------------------


def run(services: Services, *args: str, exit_code: int = 0) -> Any:
    env = {
        "ENTITLEMENTS_DATABASE_URL": services.settings.database_url,
        "ENTITLEMENTS_MAPPINGS_DIR": str(services.settings.mappings_dir),
        "ENTITLEMENTS_LANGUAGE": "de",
    }
    result = CliRunner().invoke(main, ["statement", *args], env=env)
    assert result.exit_code == exit_code, result.output
    return result


def test_the_command_writes_the_statement_in_the_vendors_language(services, tmp_path):
    output = tmp_path / "statement.html"
    run(services, "--customer", "C-100", "--month", "2026-11", "--output", str(output))
    html = output.read_text(encoding="utf-8")
    assert "Leistungsnachweis · November 2026" in html and "430,00 EUR" in html
    english = run(
        services, "--customer", "C-100", "--month", "2026-11", "--format", "csv", "--language", "en"
    )
    assert english.stdout.splitlines()[-1] == '"Total","","","","","430.00","EUR"'


@pytest.mark.skipif(PDF_SKIP is not None, reason=PDF_SKIP or "")
def test_the_command_writes_a_pdf(services, tmp_path):
    output = tmp_path / "statement.pdf"
    args = ("--customer", "C-100", "--month", "2026-11", "--format", "pdf", "--output", str(output))
    run(services, *args)
    assert output.read_bytes().startswith(b"%PDF-")


def test_the_command_names_a_bad_month_and_an_unknown_customer(services):
    bad = run(services, "--customer", "C-100", "--month", "11/2026", exit_code=2)
    assert "--month" in bad.output and "YYYY-MM" in bad.output
    unknown = run(services, "--customer", "C-999", "--month", "2026-11", exit_code=2)
    assert "--customer" in unknown.output and "C-999" in unknown.output


# --- the admin page -----------------------------------------------------------------------


@pytest.fixture
def client(services) -> Any:
    client = create_app(services=services).test_client()
    page = client.get("/admin/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/admin/sign-in", data={"csrf": csrf, "token": ADMIN_TOKEN})
    return client


def test_the_admin_page_links_each_customers_statement(client):
    page = client.get("/admin/").text
    for number in ("C-100", "C-200"):
        assert f'href="/admin/customers/{number}/statement?month=' in page, number


def test_the_admin_page_shows_a_statement_in_the_pages_language(client):
    answer = client.get("/admin/customers/C-100/statement?month=2026-11")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert "Statement · November 2026" in answer.text and "430.00 EUR" in answer.text
    nonce = re.search(r"style-src 'nonce-([^']+)'", answer.headers["Content-Security-Policy"])
    assert f'<style nonce="{nonce.group(1)}">' in answer.text
    german = client.get("/admin/customers/C-100/statement?month=2026-11&lang=de")
    assert "Leistungsnachweis · November 2026" in german.text and "430,00 EUR" in german.text


def test_the_admin_page_names_a_bad_month_and_an_unknown_customer(client):
    bad = client.get("/admin/customers/C-100/statement?month=2026-13")
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"month"}
    unknown = client.get("/admin/customers/C-999/statement?month=2026-11")
    assert unknown.status_code == 404 and unknown.json["error"] == "not_found"


def test_a_statement_needs_signing_in(services):
    client = create_app(services=services).test_client()
    answer = client.get("/admin/customers/C-100/statement?month=2026-11")
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/sign-in"
