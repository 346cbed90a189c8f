"""The selector of the SQL search: `condition` as lib/selector/sql.rb turns it into a WHERE
clause, evaluated in memory for the operators the stand-in models."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from standins.zammad.refusal import ZammadRefusal, unprocessable
from standins.zammad.values import as_list, condition_text, parse_time

log = logging.getLogger(__name__)


# Selector::Sql::VALID_OPERATORS (lib/selector/sql.rb): any other operator raises (HTTP 500).
SELECTOR_OPERATORS = frozenset({
    "after (absolute)", "after (relative)", "before (absolute)", "before (relative)",
    "contains all not", "contains all", "contains not", "contains one not", "contains one",
    "contains", "does not match regex", "ends with one of", "ends with", "from (relative)",
    "has changed", "has reached warning", "has reached", "is any of", "is in working time",
    "is none of", "is not in working time", "is not", "is set", "is", "matches regex",
    "not set", "starts with one of", "starts with", "till (relative)", "today",
    "within last (relative)", "within next (relative)",
})  # fmt: skip


class _InvalidCondition(ValueError):
    """Selector::Base::InvalidCondition (lib/selector/base.rb)."""


class Selector:
    """Conditions of a search as predicates on records."""

    # The selector (lib/selector/sql.rb, Selector::Base in lib/selector/base.rb) as the SQL
    # search uses it: `condition` is {name: {operator, value}} or a block
    # {operator: AND|OR|NOT, conditions: [...]}, names "<table>.<column>".

    def _selector(self, model: str, condition: object) -> Callable[[Mapping[str, Any]], bool]:
        everything: Callable[[Mapping[str, Any]], bool] = lambda record: True  # noqa: E731
        if condition is None or condition == "":
            return everything  # search_build_params: `params[:condition] ||= {}`
        if not isinstance(condition, dict):
            raise ZammadRefusal(500, f"undefined method `deep_symbolize_keys' for {condition!r}")
        try:
            match = self._selector_block(model, _migrate_selector(condition))
        except _InvalidCondition as exc:
            # Selector::Sql#get rescues it, logs and returns nil; search_sql_base then runs
            # `joins(nil).where(nil)`: the condition is dropped and every record matches.
            log.warning("zammad stand-in: Selector::Sql.get->InvalidCondition: %s", exc)
            return everything
        return match or everything

    def _selector_block(
        self, model: str, block: Mapping[str, Any]
    ) -> Callable[[Mapping[str, Any]], bool] | None:
        """A block or a condition; None when it adds nothing to the WHERE clause."""
        if "conditions" not in block:
            return self._selector_condition(model, block)
        conditions = block["conditions"]
        if not isinstance(conditions, list):
            raise ZammadRefusal(500, "conditions must be a list")
        if not all(isinstance(c, dict) for c in conditions):
            raise ZammadRefusal(500, "a condition must be an object")
        subs = [self._selector_block(model, c) for c in conditions]
        parts = [s for s in subs if s is not None]  # run_block: compact; none: nothing
        if not parts:
            return None
        operator = block.get("operator")
        if operator == "NOT":
            return lambda r: not all(p(r) for p in parts)
        if operator == "OR":
            return lambda r: any(p(r) for p in parts)
        if operator == "AND" or len(parts) == 1:
            return lambda r: all(p(r) for p in parts)
        raise ZammadRefusal(422, f"PG::SyntaxError: syntax error at or near {operator!r}")

    def _selector_condition(
        self, model: str, condition: Mapping[str, Any]
    ) -> Callable[[Mapping[str, Any]], bool] | None:
        """Selector::Sql#condition_sql for the operators the stand-in models."""
        if not condition:
            raise _InvalidCondition("No block condition")
        name = condition.get("name")
        if not name:
            raise _InvalidCondition(f"No block condition name {condition!r}")
        table, _, rest = str(name).partition(".")
        column = rest.split(".")[0]
        if not table or not column:
            return None  # `return if !attribute_name`
        row_of, columns, inner = self._selector_table(model, table, column)
        operator = condition.get("operator")
        if not operator or operator not in SELECTOR_OPERATORS:  # validate_operator!
            raise ZammadRefusal(500, f"Invalid condition, operator '{operator}' is invalid")
        _validate_pre_condition(condition)
        if column not in columns:  # the database refuses the SQL: StatementInvalid
            raise ZammadRefusal(422, f"PG::UndefinedColumn: column {table}.{column} does not exist")
        test = self._selector_test(operator, condition, column)

        def match(record: Mapping[str, Any]) -> bool:
            row = row_of(record)
            if row is None and inner:  # INNER JOIN: no row, no record
                return False
            return test(None if row is None else row.get(column))

        return match

    def _selector_table(
        self, model: str, table: str, column: str
    ) -> tuple[Callable[[Mapping[str, Any]], Mapping[str, Any] | None], frozenset[str], bool]:
        """The row a condition reads, its columns, and whether its join is INNER."""
        own = "ticket" if model == "Ticket" else "organization"
        if table == own:
            return (lambda record: record), self._columns(model), True
        if model == "Ticket" and table == "organization":  # LEFT JOIN organizations
            return (
                lambda t: self._organizations.get(t["organization_id"]),
                self._columns("Organization"),
                False,
            )
        if model == "Ticket" and table in ("customer", "owner"):  # INNER JOIN users
            return (
                lambda t: self._users.get(t[f"{table}_id"]),
                self._columns("User"),
                True,
            )
        if model == "Ticket" and table == "ticket_state":  # INNER JOIN ticket_states
            return (
                lambda t: self._states.get(t["state_id"]),
                frozenset(next(iter(self._states.values()))),
                True,
            )
        if table in ("article", "execution_time", "ticket_owner", "ticket_customer", "ticket"):
            raise unprocessable(f"stand-in: conditions on {table}.{column} are not modelled")
        raise ZammadRefusal(500, f"invalid selector {table}, {column}")

    def _selector_test(
        self, operator: str, condition: Mapping[str, Any], column: str
    ) -> Callable[[Any], bool]:
        pre_condition = condition.get("pre_condition")
        value = condition.get("value")
        if str(pre_condition).startswith("current_user.") and pre_condition != "current_user.id":
            raise unprocessable(f"stand-in: pre_condition {pre_condition!r} is not modelled")
        if operator in ("is", "is not") and pre_condition in ("not_set", "current_user.id"):
            if pre_condition == "current_user.id":
                wanted: list[Any] = [self.integration_user_id]
            else:  # user columns count the system user (id 1) as not set
                user_column = re.match(r"^(created_by|updated_by|owner|customer|user)_id", column)
                wanted = [None, 1] if user_column else [None]
            if operator == "is":
                return lambda v: any(_sql_equal(v, w) for w in wanted)
            if pre_condition == "current_user.id":  # `IS NULL OR NOT IN (?)`
                return lambda v: v is None or not _sql_equal(v, wanted[0])
            return lambda v: v is not None and not any(_sql_equal(v, w) for w in wanted)
        if operator in ("is", "is not"):
            if value is None:  # `IS NULL` / `IS NOT NULL`
                return (lambda v: v is None) if operator == "is" else (lambda v: v is not None)
            values = as_list(value)
            with_null = "" in values  # `IN (?) OR IS NULL` / `IS NOT NULL AND NOT IN (?)`
            if operator == "is":
                return lambda v: (v is None and with_null) or _sql_in(v, values)
            if with_null:
                return lambda v: v is not None and not _sql_in(v, values)
            return lambda v: v is None or not _sql_in(v, values)
        if operator in ("is any of", "is none of"):
            values = as_list(value) or [""]
            if operator == "is any of":
                return lambda v: _sql_in(v, values)
            return lambda v: v is not None and not _sql_in(v, values)
        if operator in ("after (absolute)", "before (absolute)"):
            sign = 1 if operator == "after (absolute)" else -1  # `>= ?` / `<= ?`
            return lambda v: (found := _sql_compare(v, value)) is not None and found * sign >= 0
        if operator in ("contains", "contains not"):  # ILIKE '%value%'
            needle = str(value).lower()
            if operator == "contains":
                return lambda v: v is not None and needle in str(v).lower()
            return lambda v: v is None or needle not in str(v).lower()
        raise unprocessable(f"stand-in: selector operator {operator!r} is not modelled")


def _migrate_selector(value: object) -> dict[str, Any]:
    """Selector::Base.migrate_selector: a flat {name: {operator, value}} hash becomes an AND
    block; a block stays as it is."""
    if not isinstance(value, dict):
        raise ZammadRefusal(500, f"undefined method `deep_symbolize_keys' for {value!r}")
    if "conditions" in value:
        return value
    conditions = []
    for name, rule in value.items():
        if not isinstance(rule, dict):
            raise ZammadRefusal(500, f"no implicit conversion of {type(rule).__name__} into Hash")
        conditions.append({"name": name, **rule})
    return {"operator": "AND", "conditions": conditions}


def _blank(value: object) -> bool:
    """Ruby's ``blank?``."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or value is False or (isinstance(value, list | dict) and not value)


def _validate_pre_condition(condition: Mapping[str, Any]) -> None:
    """validate_pre_condition_blank! and validate_pre_condition_values! (lib/selector/sql.rb):
    a condition without a value (or with an empty list, or a blank `contains` value) needs a
    pre_condition other than "specific"; a pre_condition must be a known kind."""
    operator = condition["operator"]
    value = condition.get("value")
    pre_condition = condition.get("pre_condition")
    exempt = {"has changed", "has reached", "has reached warning", "is any of", "is none of",
              "is set", "not set"}  # fmt: skip
    valueless = (
        (operator != "today" and "value" not in condition)
        or (isinstance(value, list) and not value)
        or (operator.startswith("contains") and _blank(value))
    )
    unspecific = _blank(pre_condition) or pre_condition == "specific"
    if operator not in exempt and valueless and unspecific:
        raise _InvalidCondition(f"Invalid condition pre_condition {condition!r}")
    if operator in ("has changed", "has reached", "has reached warning") or _blank(pre_condition):
        return
    if not str(pre_condition).startswith(("not_set", "current_user.", "specific")):
        raise _InvalidCondition(f"Invalid condition pre_condition not set {condition!r}")


def _sql_compare(actual: object, bound: object) -> int | None:
    """-1, 0 or 1 as the database compares a column with a bound value; None for NULL or a
    value the column's type cannot take."""
    if actual is None or bound is None:
        return None
    left: Any
    right: Any
    actual_time = parse_time(actual)
    if actual_time is not None:
        left, right = actual_time, parse_time(bound)
    elif isinstance(actual, bool):
        left, right = actual, condition_text(bound).lower() in ("true", "t", "1")
    elif isinstance(actual, int | float):
        try:
            left, right = actual, float(str(bound))
        except ValueError:
            return None
    else:
        left, right = str(actual), str(bound)
    if right is None:
        return None
    return (left > right) - (left < right)


def _sql_equal(actual: object, wanted: object) -> bool:
    if actual is None or wanted is None:
        return actual is None and wanted is None
    return _sql_compare(actual, wanted) == 0


def _sql_in(actual: object, values: list[Any]) -> bool:
    """``column IN (values)``: NULL is in nothing."""
    return actual is not None and any(_sql_equal(actual, v) for v in values if v is not None)
