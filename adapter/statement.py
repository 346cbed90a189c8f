"""A customer's monthly statement: the document a vendor sends with the invoice
(`entitlements statement`, and the admin page's link per customer).

For one customer and one calendar month (the calendar's time zone):
- the tickets counted in each quota period that touches the month, against the quota (a week
  that crosses the month's edge is shown whole, as its quota is);
- the month's tickets, and each billable one with its reasons: the decision's sentences, in the
  statement's language (the stored decision decided again from its stored inputs, which gives
  the same decision in another language; if the policy changed since, the stored sentences);
- the month's billing lines with their amounts: the customer's share of every kind of line the
  billing export has for the month (`adapter.month_billing`), so each new kind appears here
  as it appears there; totals per currency;
- the on-call days, from those lines: window, employees and fees.

Every label, month name, date and amount follows the chosen language; the texts are in
`LABELS`, one table per language, as `adapter.explain` keeps its own. HTML comes from the
template `templates/statement/statement.html`; the PDF is that HTML, printed by WeasyPrint.
"""

from __future__ import annotations

import csv
import io
from calendar import monthrange
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from marshmallow import ValidationError

from adapter.billing import BillableLine, Prices, month_window
from adapter.contracts import Contract
from adapter.csv_cells import neutralise
from adapter.engine import Flag, decide
from adapter.explain import CONTRACT_STATUS
from adapter.limits import EARLIEST, LATEST, date_problem
from adapter.month_billing import month_billing_lines
from adapter.policy import Policy
from adapter.quota import day_label, period_label, period_of
from mappings.audit import load_decision_inputs

ON_CALL_CODES = ("on_call_base_fee", "on_call_cancellation_fee")

MONTH_NAMES = {
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
LABELS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Leistungsnachweis",
        "customer": "Kunde",
        "customer_number": "Kundennummer",
        "month": "Monat",
        "created_on": "Erstellt am",
        "contracts": "Verträge",
        "contract": "Vertrag",
        "plan": "Plan",
        "valid": "Laufzeit",
        "status": "Status",
        "no_contracts": "Keine Verträge in diesem Monat.",
        "quota": "Tickets je Kontingentzeitraum",
        "period": "Zeitraum",
        "counted": "Gezählt",
        "limit": "Kontingent",
        "over": "Darüber",
        "whole_period": "Eine Woche, die über den Monat hinausreicht, ist ganz gezählt.",
        "tickets": "Tickets im Monat",
        "tickets_total": "Tickets",
        "tickets_counted": "davon auf das Kontingent gezählt",
        "tickets_billable": "davon kostenpflichtig",
        "billable_tickets": "Kostenpflichtige Tickets",
        "ticket": "Ticket",
        "created": "Erstellt",
        "reasons": "Gründe",
        "no_billable": "Keine kostenpflichtigen Tickets.",
        "lines": "Abrechnungspositionen",
        "date": "Datum",
        "service": "Leistung",
        "quantity": "Menge",
        "unit_price": "Einzelpreis",
        "amount": "Betrag",
        "not_priced": "ohne Preis",
        "no_lines": "Keine Positionen in diesem Monat.",
        "total": "Summe",
        "unpriced_note": "{n} Position(en) ohne Preis: die Preisliste nennt dafür keinen Betrag.",
        "on_call": "Rufbereitschaft",
        "day": "Tag",
        "window": "Zeitfenster",
        "employees": "Mitarbeiter",
        "fees": "Gebühren",
        "no_on_call": "Keine Rufbereitschaft in diesem Monat.",
        "half_hours": "{n} × 30 Min.",
        "days": "{n} Tag(e)",
        "year_share": "anteilig {first} – {last}",
        "on_call_base_fee": "Grundgebühr Rufbereitschaft",
        "on_call_cancellation_fee": "Stornogebühr Rufbereitschaft",
        "support_fee": "Supportgebühr",
        "saturday": "Samstag",
        "sunday_or_holiday": "Sonn- oder Feiertag",
        "night": "Nacht",
        **CONTRACT_STATUS["de"],
    },
    "en": {
        "title": "Statement",
        "customer": "Customer",
        "customer_number": "Customer number",
        "month": "Month",
        "created_on": "Created on",
        "contracts": "Contracts",
        "contract": "Contract",
        "plan": "Plan",
        "valid": "Term",
        "status": "Status",
        "no_contracts": "No contracts in this month.",
        "quota": "Tickets per quota period",
        "period": "Period",
        "counted": "Counted",
        "limit": "Quota",
        "over": "Over quota",
        "whole_period": "A week reaching beyond the month is counted whole.",
        "tickets": "Tickets this month",
        "tickets_total": "Tickets",
        "tickets_counted": "counted against the quota",
        "tickets_billable": "billable",
        "billable_tickets": "Billable tickets",
        "ticket": "Ticket",
        "created": "Created",
        "reasons": "Reasons",
        "no_billable": "No billable tickets.",
        "lines": "Billing lines",
        "date": "Date",
        "service": "Service",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "amount": "Amount",
        "not_priced": "not priced",
        "no_lines": "No lines this month.",
        "total": "Total",
        "unpriced_note": "{n} line(s) not priced: the price list has no amount for them.",
        "on_call": "On-call",
        "day": "Day",
        "window": "Window",
        "employees": "Employees",
        "fees": "Fees",
        "no_on_call": "No on-call this month.",
        "half_hours": "{n} × 30 min",
        "days": "{n} day(s)",
        "year_share": "pro rata {first} – {last}",
        "on_call_base_fee": "On-call base fee",
        "on_call_cancellation_fee": "On-call cancellation fee",
        "support_fee": "Support fee",
        "saturday": "Saturday",
        "sunday_or_holiday": "Sunday or holiday",
        "night": "Night",
        **CONTRACT_STATUS["en"],
    },
}
# Amounts: thousands and decimal separators per language.
SEPARATORS = {"de": (".", ","), "en": (",", ".")}


class StatementError(ValueError):
    """A statement that cannot be made as asked (an unknown customer)."""


def parse_month(text: str) -> tuple[int, int]:
    """`2026-11` as (2026, 11); raises ValueError saying what a month looks like."""
    try:
        day = date.fromisoformat(f"{text}-01") if len(text) == 7 else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"not a month YYYY-MM: {text!r}")
    if date_problem(day):
        raise ValueError(f"must lie between {EARLIEST:%Y-%m} and {LATEST:%Y-%m}, not {text!r}")
    return day.year, day.month


@dataclass(frozen=True)
class ContractLine:
    id: str
    plan: str
    valid_from: date
    valid_until: date
    status: str  # on the month's last day


@dataclass(frozen=True)
class PeriodUse:
    contract: str
    plan: str
    period: str
    label: str
    used: int  # active counts in the whole period
    limit: int

    @property
    def over(self) -> int:
        return max(self.used - self.limit, 0)


@dataclass(frozen=True)
class TicketEntry:
    helpdesk: str
    ticket_id: str
    created: datetime  # local, the calendar's time zone
    contract: str | None
    quota: str | None  # "3/4 Nov 2026"
    counted: bool
    billable: bool
    reasons: tuple[Flag, ...]  # in the statement's language


@dataclass(frozen=True)
class OnCallDay:
    day: date
    start: time
    end: time | None
    employees: int
    codes: tuple[str, ...]
    amount: Decimal | None  # None: not every fee is priced
    currency: str | None


@dataclass(frozen=True)
class Statement:
    customer: str
    name: str | None
    year: int
    month: int
    language: str
    created_on: date
    contracts: tuple[ContractLine, ...]
    periods: tuple[PeriodUse, ...]
    tickets: tuple[TicketEntry, ...]
    lines: tuple[BillableLine, ...]
    on_call: tuple[OnCallDay, ...]
    time_zone: Any  # the calendar's ZoneInfo

    @property
    def billable_tickets(self) -> tuple[TicketEntry, ...]:
        return tuple(t for t in self.tickets if t.billable)

    @property
    def has_weeks(self) -> bool:
        """Whether a quota period is a week, which may reach beyond the month."""
        return any("W" in p.period for p in self.periods)

    @property
    def counted_tickets(self) -> int:
        return sum(1 for t in self.tickets if t.counted)

    @property
    def totals(self) -> dict[str, Decimal]:
        """The priced lines' amounts per currency."""
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            if line.amount is not None and line.currency:
                sums[line.currency] += line.amount
        return dict(sorted(sums.items()))

    @property
    def unpriced(self) -> int:
        return sum(1 for line in self.lines if line.amount is None)


def build_statement(
    store: Any,
    policy: Policy,
    prices: Prices,
    customer: str,
    year: int,
    month: int,
    language: str,
    today: date,
) -> Statement:
    """The statement of `customer` for a month; raises StatementError for a customer number
    with neither contracts nor tickets."""
    tz = policy.calendar.time_zone
    start, end = month_window(year, month, policy.calendar)
    days = [date(year, month, day) for day in range(1, monthrange(year, month)[1] + 1)]
    last = days[-1]
    with store.session() as session:
        held = store.customers(session, customer)
        contracts = held[0].contracts if held else []
        name = held[0].name if held else None
        stored = [
            decision
            for decision in store.latest_decisions(session, customer_number=customer)
            if start <= _created(decision) < end
        ]
        running = [c for c in contracts if any(c.status_on(d).covers for d in days)]
        keys = {
            (c.id, period_of(_noon(d, tz), policy.plan(c.plan).quota.per, tz))
            for c in running
            for d in days
        }
        used = store.ledger_counts(session, keys)
        lines = month_billing_lines(store, session, policy, prices, year, month, customer=customer)
    if not contracts and not stored:
        raise StatementError(f"no contracts and no tickets for customer {customer!r}")
    return Statement(
        customer=customer,
        name=name,
        year=year,
        month=month,
        language=language,
        created_on=today,
        contracts=tuple(_contract_line(c, last, policy, language) for c in contracts),
        periods=tuple(_periods(running, used, policy, language)),
        tickets=tuple(
            sorted(
                (_ticket(s, policy, language) for s in stored),
                key=lambda t: (t.created, t.helpdesk, t.ticket_id),
            )
        ),
        lines=tuple(lines),
        on_call=tuple(_on_call(lines, policy)),
        time_zone=tz,
    )


def _created(stored: Any) -> datetime:
    return datetime.fromisoformat(stored.inputs["facts"]["created_at"])


def _noon(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time(12), tz)


def _contract_line(contract: Contract, day: date, policy: Policy, language: str) -> ContractLine:
    plan = policy.plans.get(contract.plan)
    return ContractLine(
        contract.id,
        plan.name[language] if plan else contract.plan,
        contract.starts_on,
        contract.end_on(day),
        LABELS[language][str(contract.status_on(day))],
    )


def _periods(
    contracts: Sequence[Contract],
    used: Mapping[tuple[str, str], int],
    policy: Policy,
    language: str,
) -> Iterable[PeriodUse]:
    for contract in contracts:
        plan = policy.plan(contract.plan)
        for key in sorted(k for k in used if k[0] == contract.id):
            period = key[1]
            yield PeriodUse(
                contract.id,
                plan.name[language],
                period,
                period_label(period, language),
                used[key],
                plan.quota.tickets,
            )


def _ticket(stored: Any, policy: Policy, language: str) -> TicketEntry:
    """A ticket of the month as its latest decision has it, in `language`."""
    shown = stored.decision
    reasons = tuple(
        Flag(f["code"], f["message"], _flag_label(policy, f["code"], language))
        for f in shown.get("flags", ())
    )
    quota = shown.get("quota")
    label = (
        f"{quota['used']}/{quota['limit']} {period_label(quota['period'], language)}"
        if quota
        else None
    )
    try:
        inputs = load_decision_inputs(stored.inputs)
    except ValidationError:
        inputs = None
    if inputs is not None:
        # Pure: the stored inputs decide the same again, in the language asked for. Should
        # the policy have changed since, the stored sentences stay unless the codes agree.
        facts, ledger = inputs.facts, inputs.ledger
        again = decide(
            facts, inputs.contracts, ledger, inputs.now, policy=policy, language=language
        )
        if [f.code for f in again.flags] == [f.code for f in reasons]:
            reasons = again.flags
            label = again.quota.label if again.quota else label
    created = _created(stored).astimezone(policy.calendar.time_zone)
    contract = shown.get("contract") or {}
    return TicketEntry(
        helpdesk=stored.helpdesk,
        ticket_id=stored.ticket_id,
        created=created,
        contract=contract.get("id"),
        quota=label,
        counted=bool(quota and quota.get("counted")),
        billable=bool(shown.get("billable")),
        reasons=reasons,
    )


def _flag_label(policy: Policy, code: str, language: str) -> str:
    texts = policy.flags.get(code)
    return texts.label[language] if texts else code


def _on_call(lines: Iterable[BillableLine], policy: Policy) -> Iterable[OnCallDay]:
    """On-call days from their fee lines (one per day and employee)."""
    tz = policy.calendar.time_zone
    by_day: dict[date, list[BillableLine]] = defaultdict(list)
    for line in lines:
        if line.code in ON_CALL_CODES:
            by_day[line.start.astimezone(tz).date()].append(line)
    for day, fees in sorted(by_day.items()):
        first = fees[0]
        begins = first.start.astimezone(tz)
        ends = (first.start + timedelta(minutes=first.minutes)).astimezone(tz)
        amounts = [f.amount for f in fees]
        priced = all(a is not None for a in amounts)
        yield OnCallDay(
            day=day,
            start=begins.time(),
            end=ends.time() if first.minutes else None,
            employees=len(fees),
            codes=tuple(sorted({f.code for f in fees})),
            amount=sum((a for a in amounts if a is not None), Decimal(0)) if priced else None,
            currency=first.currency if priced else None,
        )


# --- for people: formats, HTML, PDF, CSV ---------------------------------------------------


def month_name(year: int, month: int, language: str) -> str:
    return f"{MONTH_NAMES[language][month - 1]} {year}"


def money(amount: Decimal | None, currency: str | None, language: str) -> str:
    """`1.234,50 EUR` / `1,234.50 EUR`; empty for no amount."""
    if amount is None:
        return ""
    thousands, point = SEPARATORS[language]
    text = f"{amount:,.2f}".replace(",", "\0").replace(".", point).replace("\0", thousands)
    return f"{text} {currency}" if currency else text


def describe(line: BillableLine, policy: Policy, language: str) -> str:
    """What a line bills for, in words: the flag's label or the kind of fee, and surcharges."""
    t = LABELS[language]
    text = t[line.code] if line.code in t else _flag_label(policy, line.code, language)
    if line.ticket:
        text = f"{text}, {t['ticket']} #{line.ticket}"
    if line.surcharges:
        text += " (" + ", ".join(t.get(s, s) for s in line.surcharges) + ")"
    if line.period:
        share = t["year_share"].format(
            first=day_label(line.period[0], language), last=day_label(line.period[1], language)
        )
        text = f"{text}, {share}"
    return text


def quantity(line: BillableLine, language: str) -> str:
    t = LABELS[language]
    if line.unit == "half_hour":
        return t["half_hours"].format(n=line.quantity)
    if line.unit == "day":
        return t["days"].format(n=line.quantity)
    return str(line.quantity)


_ENVIRONMENT = Environment(
    loader=PackageLoader("adapter", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(statement: Statement, policy: Policy, *, nonce: str | None = None) -> str:
    """The statement as a standalone HTML page; `nonce` for the admin page's CSP."""
    language = statement.language
    tz = statement.time_zone
    return _ENVIRONMENT.get_template("statement/statement.html").render(
        s=statement,
        t=LABELS[language],
        month=month_name(statement.year, statement.month, language),
        day=lambda d: day_label(d, language),
        money=lambda a, c: money(a, c, language),
        describe=lambda line: describe(line, policy, language),
        quantity=lambda line: quantity(line, language),
        local=lambda at: at.astimezone(tz),
        nonce=nonce,
    )


class PdfUnavailable(RuntimeError):
    """WeasyPrint, or the Pango it prints with, cannot be loaded here."""


def pdf_unavailable() -> str | None:
    """Why a PDF cannot be made here (WeasyPrint or Pango missing); None: it can."""
    try:
        import weasyprint  # noqa: F401  # lazy: loads Pango through cffi; only PDFs need it
    except (ImportError, OSError) as e:
        return f"PDF needs WeasyPrint and Pango (libpango-1.0-0, libpangoft2-1.0-0): {e}"
    return None


def render_pdf(html: str) -> bytes:
    """The statement's HTML printed to PDF by WeasyPrint; raises PdfUnavailable."""
    problem = pdf_unavailable()
    if problem:
        raise PdfUnavailable(problem)
    import weasyprint  # lazy: as in pdf_unavailable

    return weasyprint.HTML(string=html).write_pdf()


CSV_COLUMNS = ("section", "date", "reference", "description", "quantity", "amount", "currency")


def render_csv(statement: Statement, policy: Policy) -> str:
    """The statement as CSV, one row per period, billable ticket, line and total; headers in
    the statement's language, amounts as plain decimals (as the billing export writes them)."""
    language, tz = statement.language, statement.time_zone
    t = LABELS[language]
    header = {
        "section": "",
        "date": t["date"],
        "reference": t["ticket"],
        "description": t["service"],
        "quantity": t["quantity"],
        "amount": t["amount"],
        "currency": "",
    }
    rows: list[dict[str, Any]] = []
    for p in statement.periods:
        rows.append(
            {
                "section": t["quota"],
                "reference": p.contract,
                "description": f"{p.plan}, {p.label}",
                "quantity": f"{p.used}/{p.limit}",
            }
        )
    for ticket in statement.billable_tickets:
        rows.append(
            {
                "section": t["billable_tickets"],
                "date": ticket.created.date().isoformat(),
                "reference": f"{ticket.helpdesk} #{ticket.ticket_id}",
                "description": " ".join(f"{r.label}: {r.message}" for r in ticket.reasons),
                "quantity": ticket.quota or "",
            }
        )
    for line in statement.lines:
        rows.append(
            {
                "section": t["lines"],
                "date": line.start.astimezone(tz).date().isoformat(),
                "reference": line.ticket or line.contract or "",
                "description": describe(line, policy, language),
                "quantity": quantity(line, language),
                "amount": "" if line.amount is None else str(line.amount),
                "currency": line.currency or "",
            }
        )
    for currency, total in statement.totals.items():
        rows.append({"section": t["total"], "amount": str(total), "currency": currency})
    out = io.StringIO()
    # Every cell quoted: a reason's text may carry a line break (a service name from the
    # helpdesk), and Python before 3.11.9 leaves a bare CR unquoted otherwise (gh-67044).
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header | {"section": t["title"]})
    for row in rows:
        writer.writerow({k: neutralise(row.get(k, "")) for k in CSV_COLUMNS})
    return out.getvalue()
