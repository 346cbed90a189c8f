"""Articles, time accountings and tags of tickets, and what each does to its ticket."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from standins.zammad.api import Request, paginate
from standins.zammad.refusal import not_found, unprocessable
from standins.zammad.schema import (
    AGENT_USER_ID,
    ARTICLE_COLUMNS,
    ARTICLE_SENDERS,
    ARTICLE_TYPES,
    EVENT_IGNORED,
)
from standins.zammad.values import as_bool, as_int, decimal_string


class Articles:
    """Articles, time accounting and tags: control API, model effects and routes."""

    # ------------------------------------------------------------------ control API

    def add_article(
        self,
        ticket_id: int,
        body: str,
        type: str = "note",
        internal: bool = False,
        by_user_id: int = AGENT_USER_ID,
        *,
        sender: str | None = None,
        subject: str | None = None,
        content_type: str = "text/plain",
    ) -> int:
        """An article by a user; counts as a ticket update (runs the "update" triggers)."""
        with self._lock:
            self._ticket(ticket_id)
            if by_user_id not in self._users:
                raise not_found("User", by_user_id)
            params: dict[str, Any] = {
                "body": body,
                "type": type,
                "internal": internal,
                "content_type": content_type,
            }
            if sender is not None:
                params["sender"] = sender
            if subject is not None:
                params["subject"] = subject
            article = self._article_params(params, by_user_id)
            article_id, changed = self._insert_article(ticket_id, article, by_user_id)
            self._run_triggers(ticket_id, "update", changed, article_id, by_user_id)
            return article_id

    def add_time_accounting(
        self,
        ticket_id: int,
        time_unit: float | str,
        type_id: int | None = None,
        *,
        article_id: int | None = None,
        by_user_id: int = AGENT_USER_ID,
    ) -> int:
        """Accounted time on a ticket: when it changes the ticket's ``time_unit`` total, the
        ticket is saved by ``by_user_id`` and the "update" triggers run (see
        ``_insert_time_accounting``); the event names no article."""
        with self._lock:
            self._ticket(ticket_id)
            if by_user_id not in self._users:
                raise not_found("User", by_user_id)
            record_id, changed = self._insert_time_accounting(
                ticket_id, time_unit, type_id, article_id, by_user_id
            )
            if changed:
                self._run_triggers(ticket_id, "update", changed, None, by_user_id)
            return record_id

    def add_tag(self, ticket_id: int, tag: str) -> None:
        with self._lock:
            self._ticket(ticket_id)
            self._tag_add(ticket_id, tag)

    def remove_tag(self, ticket_id: int, tag: str) -> None:
        with self._lock:
            self._ticket(ticket_id)
            self._tag_remove(ticket_id, tag)

    def tags(self, ticket_id: int) -> list[str]:
        with self._lock:
            return list(self._tags.get(ticket_id, []))

    def articles(self, ticket_id: int) -> list[dict[str, Any]]:
        with self._lock:
            self._ticket(ticket_id)
            return [
                self._article_view(self._articles[a], names=True)
                for a in self._ticket_articles.get(ticket_id, [])
            ]

    def time_accountings(self, ticket_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(self._time_accountings[i])
                for i in self._ticket_time.get(ticket_id, [])
            ]

    # ------------------------------------------------------------------ articles, time accounting

    def _article_params(self, params: Mapping[str, Any], actor: int) -> dict[str, Any]:
        """Validate an article; returns the fields of the record to insert. Raises 422.
        As article_create (app/controllers/concerns/creates_ticket_articles.rb) fills it in,
        for POST /ticket_articles and for `article` in a ticket create or update alike: no
        body is a 422; type defaults to note, sender to Agent for an agent (else Customer);
        `internal` gets no default there, so the column's false applies: a note sent without
        `"internal": true` is public."""
        if params.get("body") is None:
            raise unprocessable("Need at least an 'article body' field.")
        type_name = params.get("type")
        if type_name is None and params.get("type_id") is not None:
            type_name = ARTICLE_TYPES.get(as_int(params["type_id"], "type_id"))
        type_name = type_name or "note"
        type_id = next((i for i, n in ARTICLE_TYPES.items() if n == type_name), None)
        if type_id is None:
            raise unprocessable(f"No lookup value found for 'type': {type_name!r}")
        sender_name = params.get("sender")
        if sender_name is None and params.get("sender_id") is not None:
            sender_name = ARTICLE_SENDERS.get(as_int(params["sender_id"], "sender_id"))
        sender_name = sender_name or ("Agent" if self._is_agent(actor) else "Customer")
        sender_id = next((i for i, n in ARTICLE_SENDERS.items() if n == sender_name), None)
        if sender_id is None:
            raise unprocessable(f"No lookup value found for 'sender': {sender_name!r}")
        body = params.get("body", "")
        if not isinstance(body, str):
            raise unprocessable("body must be a string")
        author = self._users[actor]
        origin_by_id = params.get("origin_by_id")
        if origin_by_id is not None:
            origin_by_id = as_int(origin_by_id, "origin_by_id")
            self._user(origin_by_id)
        time_unit = params.get("time_unit")
        return {
            "type_id": type_id,
            "sender_id": sender_id,
            "from": params.get("from")
            or f"{author['firstname']} {author['lastname']}".strip()
            or author["login"],
            "to": params.get("to"),
            "cc": params.get("cc"),
            "subject": params.get("subject"),
            "reply_to": None,
            "message_id": None,
            "message_id_md5": None,
            "in_reply_to": None,
            "content_type": params.get("content_type") or "text/plain",
            "references": None,
            "body": body,
            "internal": as_bool(params.get("internal", False), "internal"),
            "preferences": {},
            "origin_by_id": origin_by_id,
            "time_unit": None if time_unit in (None, "") else decimal_string(time_unit),
        }

    def _insert_article(
        self, ticket_id: int, params: Mapping[str, Any], actor: int, when: str | None = None
    ) -> tuple[int, set[str]]:
        """Store an article and update its ticket the way Zammad's article observers do;
        returns the article id and the ticket attributes that changed.
        app/models/ticket/article/has_ticket_contact_attributes_impact.rb (after_create):
        article_count, first_response_at, create_article_type_id/sender_id and last_contact_*,
        then `ticket.save!`, which stamps updated_by_id with the author (notes included,
        checks_user_columns_fillup.rb). Simplified: article_count counts System articles too,
        and a customer's article sets last_contact_* even when internal or a note (Zammad:
        public communication only, and per the ticket_last_contact_behaviour setting)."""
        ticket = self._tickets[ticket_id]
        before = dict(ticket)
        when = when or self._bump(ticket)
        article_id = self._next("article")
        fields = {k: v for k, v in params.items() if k != "time_unit"}
        record: dict[str, Any] = dict.fromkeys(ARTICLE_COLUMNS)
        record.update(fields)
        record.update(
            {
                "id": article_id,
                "ticket_id": ticket_id,
                "created_by_id": actor,
                "updated_by_id": actor,
                "created_at": when,
                "updated_at": when,
            }
        )
        self._articles[article_id] = record
        self._ticket_articles[ticket_id].append(article_id)
        if params.get("time_unit") is not None:
            self._insert_time_accounting(ticket_id, params["time_unit"], None, article_id, actor)

        ticket["article_count"] = (ticket["article_count"] or 0) + 1
        if ticket["create_article_type_id"] is None:
            ticket["create_article_type_id"] = record["type_id"]
            ticket["create_article_sender_id"] = record["sender_id"]
        sender = ARTICLE_SENDERS[record["sender_id"]]
        if sender == "Customer":
            ticket["last_contact_at"] = when
            ticket["last_contact_customer_at"] = when
        elif sender == "Agent" and not record["internal"] and record["type_id"] != 10:
            # an agent's public communication answers the customer (note is no communication)
            ticket["last_contact_at"] = when
            ticket["last_contact_agent_at"] = when
            if ticket["first_response_at"] is None:
                ticket["first_response_at"] = when
        ticket["updated_by_id"] = actor
        changed = {k for k, v in ticket.items() if before.get(k) != v}
        return article_id, changed - EVENT_IGNORED

    def _insert_time_accounting(
        self,
        ticket_id: int,
        time_unit: object,
        type_id: int | None,
        article_id: int | None,
        actor: int,
    ) -> tuple[int, set[str]]:
        """Store a time accounting; returns its id and the ticket attributes that changed.
        app/models/ticket/time_accounting.rb: after_save, update_ticket sums the ticket's
        time units and saves the ticket only if the total differs from its time_unit
        (`return if ticket.time_unit.to_d == time_units`, nil counting as 0). That save is an
        ordinary update (time_unit, updated_by_id = the author, updated_at) and so an update
        event for the triggers; an entry that leaves the total as it was changes nothing."""
        now = self._stamp()
        record_id = self._next("time_accounting")
        self._time_accountings[record_id] = {
            "id": record_id,
            "ticket_id": ticket_id,
            "ticket_article_id": article_id,
            "time_unit": decimal_string(time_unit),
            "type_id": type_id,
            "created_by_id": actor,
            "created_at": now,
            "updated_at": now,
        }
        self._ticket_time[ticket_id].append(record_id)
        total = sum(
            Decimal(self._time_accountings[i]["time_unit"]) for i in self._ticket_time[ticket_id]
        )
        ticket = self._tickets[ticket_id]
        if Decimal(ticket["time_unit"] or 0) == total:
            return record_id, set()
        return record_id, self._apply_changes(ticket, {"time_unit": decimal_string(total)}, actor)

    # ------------------------------------------------------------------ tags

    def _normal_tag(self, tag: object) -> str:
        if not isinstance(tag, str) or not tag.strip():
            raise unprocessable("tag can't be blank")
        return tag.strip()

    def _tag_add(self, ticket_id: int, tag: object, *, touch: bool = True) -> None:
        """Tag.tag_add (app/models/tag.rb): a tag the ticket has is not added again and nothing
        is touched. A new one touches the ticket (touch_reference_by_params,
        app/models/application_model/can_touch_references.rb): Rails' ``touch`` moves
        updated_at only, so updated_by_id stays, and no ticket event is dispatched, so no
        trigger fires."""
        name = self._normal_tag(tag)
        tags = self._tags[ticket_id]
        if name.lower() in (t.lower() for t in tags):
            return
        tags.append(name)
        if touch:
            self._bump(self._tickets[ticket_id])

    def _tag_remove(self, ticket_id: int, tag: object) -> None:
        """Tag.tag_remove (app/models/tag.rb) touches the ticket whether it had the tag or not."""
        name = self._normal_tag(tag).lower()
        self._tags[ticket_id] = [t for t in self._tags[ticket_id] if t.lower() != name]
        self._bump(self._tickets[ticket_id])

    # ------------------------------------------------------------------ routes

    # GET and POST /tickets/{id}/time_accountings (config/routes/ticket.rb):
    # app/controllers/time_accountings_controller.rb, model_index_render and
    # model_create_render (renders_models.rb) on the ticket's time accountings. Permissions
    # (app/policies/controllers/time_accountings_controller_policy.rb) are not modelled; tests
    # inject 403/404 for the versions that refuse.

    def _r_time_index(self, req: Request, ticket_id: str) -> tuple[int, Any]:
        self._ticket(int(ticket_id))
        records = [self._time_accountings[i] for i in self._ticket_time[int(ticket_id)]]
        return 200, [copy.deepcopy(r) for r in paginate(records, req, default=500)]

    def _r_time_create(self, req: Request, ticket_id: str) -> tuple[int, Any]:
        """201 with the record; a changed total saves the ticket and fires "update"."""
        self._ticket(int(ticket_id))
        params = req.params()
        if params.get("time_unit") in (None, ""):
            raise unprocessable("time_unit can't be blank")
        type_id = params.get("type_id")
        article_id = params.get("ticket_article_id")
        record_id, changed = self._insert_time_accounting(
            int(ticket_id),
            params["time_unit"],
            None if type_id is None else as_int(type_id, "type_id"),
            None if article_id is None else as_int(article_id, "ticket_article_id"),
            req.user_id,
        )
        if changed:
            self._run_triggers(int(ticket_id), "update", changed, None, req.user_id)
        return 201, copy.deepcopy(self._time_accountings[record_id])

    def _tag_target(self, params: Mapping[str, Any]) -> int:
        if params.get("object", "Ticket") != "Ticket":
            raise unprocessable("stand-in: only Ticket tags are supported")
        ticket_id = as_int(params.get("o_id"), "o_id")
        self._ticket(ticket_id)
        return ticket_id

    # app/controllers/tags_controller.rb: `list` answers {tags: [...]}, `add` 201 true (also
    # for a tag the ticket has), `remove` 200 true; the effects are Tag.tag_add/tag_remove.

    def _r_tags_list(self, req: Request) -> tuple[int, Any]:
        o_id = req.arg("o_id") or ""
        ticket_id = int(o_id) if o_id.isdigit() else None
        return 200, {"tags": list(self._tags.get(ticket_id, [])) if ticket_id else []}

    def _r_tags_add(self, req: Request) -> tuple[int, Any]:
        params = req.params()
        self._tag_add(self._tag_target(params), params.get("item"))
        return 201, True

    def _r_tags_remove(self, req: Request) -> tuple[int, Any]:
        params = req.params()
        self._tag_remove(self._tag_target(params), params.get("item"))
        return 200, True

    def _r_articles_create(self, req: Request) -> tuple[int, Any]:
        """`create` in app/controllers/ticket_articles_controller.rb: article_create, then
        201 with the article's names (attributes_with_association_names); the article is an
        update of its ticket for the triggers (get_uniq_changes, transaction_dispatcher.rb)."""
        params = req.params()
        if params.get("ticket_id") is None:
            raise unprocessable("ticket_id can't be blank")
        ticket_id = as_int(params["ticket_id"], "ticket_id")
        self._ticket(ticket_id)
        article = self._article_params(params, req.user_id)
        article_id, changed = self._insert_article(ticket_id, article, req.user_id)
        self._run_triggers(ticket_id, "update", changed, article_id, req.user_id)
        return 201, self._article_view(self._articles[article_id], names=True)

    def _r_articles_show(self, req: Request, article_id: str) -> tuple[int, Any]:
        article = self._articles.get(int(article_id))
        if article is None:
            raise not_found("Ticket::Article", article_id)
        # With names whether expanded or not (app/controllers/ticket_articles_controller.rb
        # `show` and `index_by_ticket`: attributes_with_association_names either way).
        return 200, self._article_view(article, names=True)

    def _r_articles_by_ticket(self, req: Request, ticket_id: str) -> tuple[int, Any]:
        self._ticket(int(ticket_id))
        return 200, [
            self._article_view(self._articles[a], names=True)
            for a in self._ticket_articles[int(ticket_id)]
        ]
