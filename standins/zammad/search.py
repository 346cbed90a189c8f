"""Search: GET or POST /tickets/search and /organizations/search, answered as Zammad 6.x does
with Elasticsearch (the query as a query_string, query.py) or without (SQL: the condition
through the selector, selector.py, the query as a LIKE)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from standins.zammad.api import Request, paginate
from standins.zammad.query import QuerySyntaxError, parse_query
from standins.zammad.refusal import ZammadRefusal
from standins.zammad.schema import ORGANIZATION_COLUMNS, TICKET_COLUMNS, USER_COLUMNS
from standins.zammad.values import as_list, parse_time

log = logging.getLogger(__name__)


class Search:
    """Ticket and organisation search, its ordering and its assets."""

    # ------------------------------------------------------------------ search

    # GET or POST /tickets/search and /organizations/search (config/routes/ticket.rb,
    # config/routes/organization.rb) run model_search_render
    # (app/controllers/application_controller/renders_models.rb): CanSearch#search
    # (app/models/concerns/can_search.rb) with query, condition, sort_by and order_by, 50 per
    # page and at most 200.

    def _r_tickets_search(self, req: Request) -> tuple[int, Any]:
        return self._search(req, "Ticket")

    def _r_organizations_search(self, req: Request) -> tuple[int, Any]:
        return self._search(req, "Organization")

    def _search(self, req: Request, model: str) -> tuple[int, Any]:
        if model == "Ticket":  # TicketPolicy::ReadScope: in SQL, before paging
            records = [t for t in self._tickets.values() if self._may(req.user_id, t, "read")]
            default = (["updated_at"], ["desc"])  # CanSearch.search_default_sort_by/_order_by
        else:
            records = list(self._organizations.values())
            default = (["active", "updated_at"], ["desc", "desc"])  # organization/search.rb
        order = self._sort_order(req, model, default)
        query = req.param("query") or req.param("term")
        # search_build_params: `params[:query]&.delete('*')`
        query = query.replace("*", "") if isinstance(query, str) else ""
        condition = req.param("condition")
        # Elasticsearch only when it is configured and there is a query; else SQL.
        if self.search_index and query.strip():
            found = self._search_index(model, records, query, condition)
        else:
            found = self._search_sql(model, records, query, condition)
        found = sort_records(found, order)
        total = len(found)
        found = paginate(found, req, default=50, maximum=200)
        if model == "Ticket":
            view: Callable[..., dict[str, Any]] = self._ticket_view
            assets = self._ticket_assets
        else:
            view = self._organization_view
            assets = self._organization_assets
        if req.flag("only_total_count"):
            return 200, {"total_count": total}
        if req.flag("full"):
            return 200, {
                "record_ids": [r["id"] for r in found],
                "assets": assets(found),
                "total_count": total,
            }
        # 6.x answers a plain array, with names (expand) or ids only; the 2022 tickets
        # controller answered {tickets, tickets_count, assets} without expand.
        return 200, [view(r, names=req.flag("expand")) for r in found]

    def _sort_order(
        self, req: Request, model: str, default: tuple[list[str], list[str]]
    ) -> list[tuple[str, bool]]:
        """(column, descending) pairs as SqlHelper (lib/sql_helper.rb) builds ORDER BY:
        sort_by and order_by are lists or comma-separated; an unknown column or an order other
        than asc/desc raises (HTTP 500, handles_errors.rb); pairs go by position, so a column
        without an order is not sorted by."""
        sort_by = _param_list(req.param("sort_by"))
        order_by = _param_list(req.param("order_by"))
        columns = self._columns(model)
        for name in sort_by:
            if name not in columns:
                raise ZammadRefusal(500, f"Found invalid column '{name}' for sorting.")
        for value in order_by:
            if value.lower() not in ("asc", "desc"):
                raise ZammadRefusal(
                    500, f"Found invalid order by value {value}. Please use 'asc' or 'desc'."
                )
        orders = [o.lower() for o in order_by] or default[1]
        pairs = zip(sort_by or default[0], orders, strict=False)
        return [(column, order == "desc") for column, order in pairs] or [("updated_at", True)]

    def _columns(self, model: str) -> frozenset[str]:
        builtin = {
            "Ticket": TICKET_COLUMNS,
            "Organization": ORGANIZATION_COLUMNS,
            "User": USER_COLUMNS,
        }[model]
        return frozenset(builtin) | frozenset(self._executed(model))

    def _ticket_assets(self, tickets: list[dict[str, Any]]) -> dict[str, Any]:
        assets: dict[str, dict[str, Any]] = {"Ticket": {}, "User": {}, "Organization": {}}
        for ticket in tickets:
            assets["Ticket"][str(ticket["id"])] = self._ticket_view(ticket, names=False)
            for user_id in (ticket["customer_id"], ticket["owner_id"]):
                assets["User"][str(user_id)] = self._user_view(self._users[user_id], names=False)
            org = self._organizations.get(ticket["organization_id"])
            if org is not None:
                assets["Organization"][str(org["id"])] = self._organization_view(org, names=False)
        return assets

    def _organization_assets(self, orgs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Organization": {str(o["id"]): self._organization_view(o, names=False) for o in orgs}
        }

    def _search_index(
        self, model: str, records: list[dict[str, Any]], query: str, condition: object
    ) -> list[dict[str, Any]]:
        """With Elasticsearch (search_by_index, lib/search_index_backend.rb) the query goes to
        its query_string as it is. When Elasticsearch answers an error, as for a query its
        parser refuses, Zammad logs it and goes on with no hits: 200 and []. The condition is
        added to the query (Selector::SearchIndex); here it is evaluated like the SQL one."""
        if model == "Ticket":
            field_of, view = self._ticket_field, self._ticket_view
        else:
            field_of, view = self._organization_field, self._organization_view
        try:
            predicates = parse_query(query, field_of)
        except QuerySyntaxError as exc:
            log.warning("zammad stand-in: Elasticsearch refuses %r (%s): no hits", query, exc)
            return []
        match = self._selector(model, condition)
        return [r for r in records if match(r) and all(p(view(r, names=True)) for p in predicates)]

    def _search_sql(
        self, model: str, records: list[dict[str, Any]], query: str, condition: object
    ) -> list[dict[str, Any]]:
        """Without Elasticsearch, or without a query (search_sql, can_search.rb): the condition
        through the selector (lib/selector/sql.rb), and a query, if any, as a
        case-insensitive LIKE '%query%' with no field syntax. Tickets: title and number, and
        through an INNER JOIN the articles' body, from, to and subject
        (app/models/ticket/search.rb), so a ticket without articles is never found by text.
        Organisations: their string columns (CanSearch's search_sql_query_extension)."""
        match = self._selector(model, condition)
        found = [r for r in records if match(r)]
        if not query.strip():  # `return if params[:query].blank?`
            return found
        needle = query.lower()
        return [r for r in found if any(needle in t.lower() for t in self._like_texts(model, r))]

    def _like_texts(self, model: str, record: Mapping[str, Any]) -> list[str]:
        if model == "Ticket":
            articles = [self._articles[a] for a in self._ticket_articles.get(record["id"], [])]
            row = (record["title"], record["number"])
            return [
                str(value)
                for article in articles  # one row per article, none without
                for value in (*row, article["body"], article["from"], article["to"],
                              article["subject"])
                if value is not None
            ]  # fmt: skip
        custom = self._executed("Organization")
        names = ["name", "domain", "note"]
        names += [n for n, a in custom.items() if a["data_type"] in ("input", "select")]
        return [record[n] for n in names if isinstance(record.get(n), str)]

    def _ticket_field(self, view: Mapping[str, Any], name: str) -> Any:
        if name == "tags":
            return list(self._tags.get(view["id"], []))
        head, _, tail = name.partition(".")
        if tail:
            if head in ("customer", "owner", "created_by", "updated_by"):
                user = self._users.get(view[f"{head}_id"])
                return user.get(tail) if user else None
            if head == "organization":
                org = self._organizations.get(view["organization_id"])
                return org.get(tail) if org else None
            if head in ("state", "group", "priority") and tail == "name":
                return view[head]
            return None
        return view.get(name)

    def _organization_field(self, view: Mapping[str, Any], name: str) -> Any:
        return view.get(name)


def sort_records(
    records: list[dict[str, Any]], order: list[tuple[str, bool]]
) -> list[dict[str, Any]]:
    """ORDER BY (column, descending) pairs, NULLs last ascending and first descending (as
    PostgreSQL sorts them). SQL leaves the order of ties open; here ties come in descending id,
    so a caller that needs one order has to ask for it (e.g. ``sort_by=updated_at,id``)."""
    result = sorted(records, key=lambda r: r["id"], reverse=True)
    for column, descending in reversed(order):
        result.sort(key=lambda r: _sort_key(r.get(column)), reverse=descending)
    return result


def _sort_key(value: object) -> tuple[Any, ...]:
    if value is None:
        return (1,)
    moment = parse_time(value)
    if moment is not None:
        return (0, 1, moment)
    if isinstance(value, bool | int | float):
        return (0, 0, value)
    return (0, 2, str(value))


def _param_list(value: object) -> list[str]:
    """SqlHelper#get_param_key: a comma-separated string or a list; blank is none."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        return re.split(r"\s*,\s*", value.strip())
    return [str(v) for v in as_list(value)]
