"""`decide`: one ticket's entitlement under the customer's contracts. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapter.contracts import Contract, ContractStatus
from adapter.forecast import forecast
from adapter.policy import FLAG_CODES, Plan, Policy
from adapter.quota import (
    LedgerChange,
    LedgerEntry,
    LedgerView,
    day_label,
    period_label,
    period_of,
)

ON_CALL_REACTION = timedelta(minutes=15)  # datasheet: Reaktionszeit in der Rufbereitschaft
# Values a flag or warning text may use, e.g. "{used}/{limit} in {period}".
MESSAGE_FIELDS = (
    "plan",
    "used",
    "limit",
    "period",
    "service",
    "sessions",
    "free",
    "expected",  # quota_forecast: tickets expected by the period's end
    "runs_out",  # quota_forecast: the day the quota is expected to run out
)


@dataclass(frozen=True, slots=True)
class AccountedTime:
    """One time accounting on a ticket: recorded as billable work when the ticket is billable."""

    accounting_id: str  # the helpdesk's id of the accounting, unique per helpdesk
    start: datetime  # aware: when the time was accounted
    minutes: int
    activity: str | None = None  # the helpdesk's activity type id


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What a helpdesk mapping knows about a ticket, in domain terms."""

    helpdesk: str
    ticket_id: int | str
    created_at: datetime
    customer_number: str | None
    support_queue: bool = True
    categories: frozenset[str] = frozenset()
    service: str | None = None  # the project service's name, with category project_service
    remote_sessions: int = 0
    requester: str = "partner"
    trained: bool = True
    does_not_count: str | None = None  # "merged", "spam" or the admin's marker
    on_call: bool = False  # an on-call booking covers the time asked for
    time: tuple[AccountedTime, ...] = ()  # accounted work; does not change the decision


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    message: str
    label: str = ""  # short, for tags and lists; not part of the decision shape

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class QuotaState:
    period: str
    used: int
    limit: int
    counted: bool
    label: str = ""  # "3/4 Nov 2026", for people

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "used": self.used,
            "limit": self.limit,
            "counted": self.counted,
        }


@dataclass(frozen=True, slots=True)
class ContractView:
    id: str
    valid_from: date
    valid_until: date
    notice_by: date | None
    status: ContractStatus

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "notice_by": self.notice_by.isoformat() if self.notice_by else None,
            "status": str(self.status),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    helpdesk: str
    ticket_id: int | str
    plan: str | None
    contract: ContractView | None
    quota: QuotaState | None
    reaction_due: datetime | None
    flags: tuple[Flag, ...] = ()
    warnings: tuple[Flag, ...] = ()
    ledger: tuple[LedgerChange, ...] = field(default=(), compare=False)

    @property
    def billable(self) -> bool:
        return bool(self.flags)

    def to_dict(self) -> dict[str, Any]:
        """The decision shape of design.md."""
        due = self.reaction_due
        return {
            "ticket": {"helpdesk": self.helpdesk, "id": self.ticket_id},
            "plan": self.plan,
            "contract": self.contract.to_dict() if self.contract else None,
            "quota": self.quota.to_dict() if self.quota else None,
            "reaction_due": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if due else None,
            "billable": self.billable,
            "flags": [f.to_dict() for f in self.flags],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def substance(decision: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a change note reports, from the decision shape: a changed count in the period
    alone (a ticket that does not count shows it) is no news worth a note."""
    contract = decision.get("contract") or {}
    quota = decision.get("quota") or {}
    return (
        decision.get("plan"),
        contract.get("id"),
        contract.get("valid_until"),
        quota.get("counted"),
        decision.get("reaction_due"),
        decision.get("billable"),
        tuple(f["code"] for f in decision.get("flags", ())),
        tuple(w["code"] for w in decision.get("warnings", ())),
    )


def decide(
    facts: TicketFacts,
    contracts: Sequence[Contract],
    ledger: LedgerView,
    now: datetime,
    *,
    policy: Policy,
    language: str = "de",
) -> Decision:
    """The entitlement of one ticket.

    `contracts` are the customer's contracts, `ledger` the counts and this ticket's entries,
    `now` the instant of deciding (contract status is shown as of then; everything else is
    judged at the ticket's creation). The returned decision carries the ledger changes the
    store must apply with it.
    """
    tz = policy.calendar.time_zone
    day = facts.created_at.astimezone(tz).date()
    today = now.astimezone(tz).date()
    texts = _Texts(policy, language)
    covering = [c for c in contracts if c.status_on(day).covers]
    changes: list[LedgerChange] = []

    # A count held by a contract that no longer covers the ticket goes back.
    for entry in ledger.entries:
        if entry.active and entry.contract_id not in {c.id for c in covering}:
            changes.append(_release(entry, "no_contract"))

    if not covering:
        flags = [texts.flag("no_contract")]
        if "project_service" in facts.categories:
            flags.append(texts.flag("project_service", service=facts.service or ""))
        shown = max(contracts, key=lambda c: c.end_on(day), default=None)
        return Decision(
            helpdesk=facts.helpdesk,
            ticket_id=facts.ticket_id,
            plan=None,
            contract=contract_view(shown, today) if shown else None,
            quota=None,
            reaction_due=None,
            flags=tuple(flags),
            ledger=tuple(changes),
        )

    contract = _charge_to(facts, covering, ledger, day, policy)
    plan = policy.plan(contract.plan)
    period = period_of(facts.created_at, plan.quota.per, tz)
    fmt = {
        "plan": plan.name.get(language, plan.code),
        "limit": plan.quota.tickets,
        "period": period_label(period, language),
        "service": facts.service or "",
        "sessions": facts.remote_sessions,
        "free": plan.free_remote_sessions,
    }

    flags = [texts.flag(code, **fmt) for code in _billable(facts, plan, contract)]
    not_covered = [f for f in flags if not policy.flags[f.code].covered]

    entry = ledger.entry_for(contract.id)
    used = ledger.used_in(contract.id, period)
    counts = facts.support_queue and facts.does_not_count is None and not not_covered
    # A counted ticket shows its own place in the period ("3/4"), which later tickets do not
    # change; a ticket that does not count shows the period's count as it stands.
    ordinal = 0
    if counts:
        if entry is not None and entry.active:
            ordinal = entry.ordinal
        else:
            ordinal = used + 1
            changes.append(LedgerChange("count", contract.id, period, ordinal))
        used = ordinal
    elif entry is not None and entry.active:
        used -= 1
        reason = facts.does_not_count or (
            "not_support" if not facts.support_queue else not_covered[0].code
        )
        changes.append(_release(entry, reason))

    fmt["used"] = used
    quota_flags: list[Flag] = []
    warnings: list[Flag] = []
    if counts and ordinal > plan.quota.tickets:
        quota_flags.append(texts.flag("over_quota", **fmt))
        warnings.append(texts.warning("quota_exceeded", **fmt))
    elif counts and ordinal == plan.quota.tickets:
        warnings.append(texts.warning("quota_last", **fmt))
    elif counts:
        # Judged on the ticket's own place and day, as the count is: a later ticket does not
        # change an earlier ticket's forecast.
        ahead = forecast(ordinal, plan.quota.tickets, period, day, policy.calendar, policy.forecast)
        if ahead is not None and ahead.warns and ahead.runs_out is not None:
            runs_out = day_label(ahead.runs_out, language)
            warnings.append(
                texts.warning("quota_forecast", **fmt, expected=ahead.expected, runs_out=runs_out)
            )

    return Decision(
        helpdesk=facts.helpdesk,
        ticket_id=facts.ticket_id,
        plan=plan.code,
        contract=contract_view(contract, today),
        quota=QuotaState(
            period=period,
            used=used,
            limit=plan.quota.tickets,
            counted=counts,
            label=f"{used}/{plan.quota.tickets} {fmt['period']}",
        ),
        # Inside a booked on-call window the datasheet's 15 minutes run on the clock, not on
        # support hours: the booking is what makes that time working time.
        reaction_due=(facts.created_at.astimezone(UTC) + ON_CALL_REACTION)
        if facts.on_call
        else policy.calendar.due(facts.created_at, plan.reaction.amount, plan.reaction.unit),
        flags=tuple(sorted(flags + quota_flags, key=lambda f: FLAG_CODES.index(f.code))),
        warnings=tuple(warnings),
        ledger=tuple(changes),
    )


def _charge_to(
    facts: TicketFacts, covering: Sequence[Contract], ledger: LedgerView, day: date, policy: Policy
) -> Contract:
    """The contract a ticket is charged to. A ticket already counted stays where it is;
    otherwise: covered with quota left, then covered, then the rest; within each, the best
    plan, then the contract that ends first."""
    for contract in covering:
        entry = ledger.entry_for(contract.id)
        if entry is not None and entry.active:
            return contract

    def key(contract: Contract) -> tuple[int, int, date, str]:
        plan = policy.plan(contract.plan)
        period = period_of(facts.created_at, plan.quota.per, policy.calendar.time_zone)
        covered = all(policy.flags[code].covered for code in _billable(facts, plan, contract))
        has_quota = ledger.used_in(contract.id, period) < plan.quota.tickets
        tier = 0 if covered and has_quota else 1 if covered else 2
        return (tier, -plan.rank, contract.end_on(day), contract.id)

    return min(covering, key=key)


def _billable(facts: TicketFacts, plan: Plan, contract: Contract) -> Iterable[str]:
    """The paid-service codes this ticket earns under this contract, quota aside. The policy
    says which of them mean "not covered at all" (billed alone, no quota)."""
    entitled = facts.requester in plan.may_open_tickets and (
        facts.trained or not plan.requires_trained
    )
    if not entitled:
        yield "requester_not_entitled"
    if "ui_building" in facts.categories and not plan.ui_building:
        yield "ui_building"
    if "usage_question" in facts.categories and "user" not in plan.support_levels:
        yield "user_level"
    if "project_service" in facts.categories:
        yield "project_service"
    if "third_party_project" in facts.categories and "third_party_projects" not in contract.options:
        yield "third_party_project"
    if facts.remote_sessions > plan.free_remote_sessions:
        yield "extra_remote_session"
    if "after_hours" in facts.categories and not facts.on_call:
        yield "outside_support_hours"


def _release(entry: LedgerEntry, reason: str) -> LedgerChange:
    return LedgerChange("release", entry.contract_id, entry.period, entry.ordinal, reason)


def contract_view(contract: Contract, today: date) -> ContractView:
    """A contract as a decision shows it: its current term and status on `today`."""
    return ContractView(
        id=contract.id,
        valid_from=contract.starts_on,
        valid_until=contract.end_on(today),
        notice_by=contract.notice_by(today),
        status=contract.status_on(today),
    )


class _Texts:
    def __init__(self, policy: Policy, language: str) -> None:
        self.policy = policy
        self.language = language

    def _render(self, table: Mapping[str, Any], code: str, values: Mapping[str, Any]) -> Flag:
        texts = table[code]
        message = texts.message[self.language].format_map(_Defaults(values))
        return Flag(code, message, texts.label[self.language])

    def flag(self, code: str, **values: Any) -> Flag:
        return self._render(self.policy.flags, code, values)

    def warning(self, code: str, **values: Any) -> Flag:
        return self._render(self.policy.warnings, code, values)


class _Defaults(dict):
    """format_map values where a field this decision has no value for renders empty."""

    def __missing__(self, key: str) -> str:
        return ""


def ledger_keys(
    facts: TicketFacts, contracts: Sequence[Contract], policy: Policy
) -> list[tuple[str, str]]:
    """The (contract, period) counts `decide` may need for this ticket: what to load first."""
    tz = policy.calendar.time_zone
    return [
        (c.id, period_of(facts.created_at, policy.plan(c.plan).quota.per, tz)) for c in contracts
    ]


def best_covering(contracts: Sequence[Contract], day: date, policy: Policy) -> Contract | None:
    """The contract that stands for a customer on a day: covering, best plan, longest running."""
    covering = [c for c in contracts if c.status_on(day).covers]
    return max(covering, key=lambda c: (policy.plan(c.plan).rank, c.end_on(day)), default=None)
