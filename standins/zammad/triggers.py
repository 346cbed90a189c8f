"""Webhooks and triggers: their records and routes, and which triggers an event fires (each
matching one hands its webhook to the sender, sender.py)."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping
from typing import Any

from standins.zammad.api import Request, paginate
from standins.zammad.refusal import not_found, unprocessable
from standins.zammad.sender import Job
from standins.zammad.values import as_bool, as_list, condition_text


class Triggers:
    """Webhook and trigger records, their routes, and trigger conditions."""

    # ------------------------------------------------------------------ control API

    def add_webhook(
        self,
        endpoint: str,
        signature_token: str | None = None,
        *,
        name: str | None = None,
        ssl_verify: bool = True,
        active: bool = True,
    ) -> int:
        with self._lock:
            record = self._webhook_record(
                {
                    "name": name or f"webhook {len(self._webhooks) + 1}",
                    "endpoint": endpoint,
                    "signature_token": signature_token,
                    "ssl_verify": ssl_verify,
                    "active": active,
                },
                self.integration_user_id,
            )
            return record["id"]

    def add_trigger(
        self,
        name: str,
        condition: Mapping[str, Any],
        webhook_id: int,
        *,
        execution_condition_mode: str = "selective",
        active: bool = True,
    ) -> int:
        with self._lock:
            record = self._trigger_record(
                {
                    "name": name,
                    "condition": dict(condition),
                    "perform": {"notification.webhook": {"webhook_id": webhook_id}},
                    "activator": "action",
                    "execution_condition_mode": execution_condition_mode,
                    "active": active,
                },
                self.integration_user_id,
            )
            return record["id"]

    # ------------------------------------------------------------------ triggers

    def _run_triggers(
        self,
        ticket_id: int,
        action: str,
        changed: set[str],
        article_id: int | None,
        actor: int,
    ) -> None:
        """Evaluate action triggers in name order; matching ones enqueue their webhook.
        Transaction::Trigger (app/models/transaction/trigger.rb) takes the active triggers
        with activator "action" (`activated_by`, app/models/trigger.rb), ordered by
        LOWER(name); Ticket.perform_triggers (app/models/ticket.rb) tests each one's condition
        for this ticket and event. The `notification.webhook` action
        (app/models/ticket/perform_changes/action/notification_webhook.rb) enqueues a
        TriggerWebhookJob, whose id is the delivery id of every attempt. A list of webhook ids
        is 7.x (one job each); 6.x reads one id."""
        ticket = self._tickets[ticket_id]
        article = self._articles.get(article_id) if article_id is not None else None
        triggers = sorted(
            (t for t in self._triggers.values() if t["active"] and t["activator"] == "action"),
            key=lambda t: t["name"].lower(),
        )
        for trigger in triggers:
            if not self._condition_matches(trigger, ticket, action, changed, article, actor):
                continue
            perform = trigger.get("perform") or {}
            webhook = perform.get("notification.webhook") or {}
            for webhook_id in as_list(webhook.get("webhook_id")):
                if str(webhook_id).isdigit():
                    self._enqueue(
                        Job(
                            delivery_id=str(uuid.uuid4()),
                            trigger_id=trigger["id"],
                            webhook_id=int(webhook_id),
                            ticket_id=ticket_id,
                            article_id=article_id,
                        )
                    )

    def _condition_matches(
        self,
        trigger: Mapping[str, Any],
        ticket: Mapping[str, Any],
        action: str,
        changed: set[str],
        article: Mapping[str, Any] | None,
        actor: int,
    ) -> bool:
        """Whether a trigger's condition holds for this event, as Ticket.selectors does it
        for Ticket.perform_triggers (app/models/ticket.rb): conditions are tested against the
        ticket as saved (so "updated by is not <integration user>" sees the writer of this
        event), current_user is the ticket's (or the article's) updated_by. Selective mode
        (Trigger#condition_changes_required?, app/models/trigger.rb) applies to "update" only
        (static_conditions_ticket_update, lib/selector/base.rb): it needs a changed condition
        attribute or a new article (check_changes counts `article` whenever the event has
        one). Only the flat {name: {operator, value}} form is evaluated; an expert-mode block
        ({operator, conditions}) is not modelled."""
        condition = trigger.get("condition") or {}
        attributes: set[str] = set()
        for key, rule in condition.items():
            if not isinstance(rule, dict):
                continue
            operator = rule.get("operator")
            if key == "ticket.action":
                # lib/selector/sql.rb: `options[:ticket_action] == block_condition[:value]`, so
                # a list never equals the action; "is" needs a hit, anything else a miss.
                hit = rule.get("value") == action
                if hit != (operator == "is"):
                    return False
                continue
            scope, _, name = key.partition(".")
            if scope == "ticket" and name == "tags":
                if not self._tags_condition(operator, rule.get("value"), ticket["id"]):
                    return False
                attributes.add(name)
                continue
            if scope == "ticket" and name in ticket:
                actual = ticket[name]
                attributes.add(name)
            elif scope == "article" and article is None:
                return False  # article conditions need a new article
            elif scope == "article" and name in article:
                actual = article[name]
            else:
                continue  # unknown keys are ignored, as the spec of this stand-in says
            verdict = _rule_matches(operator, rule, actual, actor)
            if verdict is False:
                return False
        if action == "update" and trigger.get("execution_condition_mode") == "selective":
            # selective: a condition attribute changed, or an article was added
            return article is not None or bool(attributes & changed)
        return True

    def _tags_condition(self, operator: object, value: object, ticket_id: int) -> bool:
        wanted = {t.strip().lower() for t in str(value or "").split(",") if t.strip()}
        if isinstance(value, list):
            wanted = {str(t).strip().lower() for t in value}
        have = {t.lower() for t in self._tags.get(ticket_id, [])}
        if operator == "contains all":
            return wanted <= have
        if operator == "contains one":
            return bool(wanted & have)
        if operator == "contains all not":
            return not wanted <= have
        if operator == "contains one not":
            return not wanted & have
        return True

    # ------------------------------------------------------------------ routes: webhooks, triggers

    def _webhook_record(self, params: Mapping[str, Any], actor: int) -> dict[str, Any]:
        """POST /webhooks: model_create_render (app/controllers/webhooks_controller.rb) of a
        Webhook (app/models/webhook.rb: name required, endpoint an http(s) URL with a host).
        The stand-in also refuses a second webhook of the same name; Zammad's model does not
        validate that (its database was not checked)."""
        name = params.get("name")
        endpoint = params.get("endpoint")
        if not isinstance(name, str) or not name.strip():
            raise unprocessable("Name can't be blank")
        if any(w["name"].lower() == name.lower() for w in self._webhooks.values()):
            raise unprocessable("Name has already been taken")
        _check_endpoint(endpoint)
        now = self._stamp()
        record = {
            "id": self._next("webhook"),
            "name": name,
            "endpoint": endpoint,
            "signature_token": params.get("signature_token") or "",
            "ssl_verify": as_bool(params.get("ssl_verify", True), "ssl_verify"),
            "basic_auth_username": params.get("basic_auth_username"),
            "basic_auth_password": params.get("basic_auth_password"),
            "bearer_token": params.get("bearer_token"),
            "customized_payload": bool(params.get("customized_payload", False)),
            "custom_payload": params.get("custom_payload"),
            "pre_defined_webhook_type": params.get("pre_defined_webhook_type"),
            "note": params.get("note"),
            "active": as_bool(params.get("active", True), "active"),
            "created_by_id": actor,
            "updated_by_id": actor,
            "created_at": now,
            "updated_at": now,
        }
        self._webhooks[record["id"]] = record
        return record

    def _r_webhooks_index(self, req: Request) -> tuple[int, Any]:
        # model_index_render (renders_models.rb): id ASC, 500 a page, at most 1000
        webhooks = paginate(list(self._webhooks.values()), req, default=500)
        return 200, [copy.deepcopy(w) for w in webhooks]

    def _r_webhooks_create(self, req: Request) -> tuple[int, Any]:
        return 201, copy.deepcopy(self._webhook_record(req.params(), req.user_id))

    def _webhook(self, webhook_id: str) -> dict[str, Any]:
        webhook = self._webhooks.get(int(webhook_id))
        if webhook is None:
            raise not_found("Webhook", webhook_id)
        return webhook

    def _r_webhooks_show(self, req: Request, webhook_id: str) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._webhook(webhook_id))

    def _r_webhooks_update(self, req: Request, webhook_id: str) -> tuple[int, Any]:
        # model_update_render (webhooks_controller.rb, renders_models.rb)
        webhook = self._webhook(webhook_id)
        params = req.params()
        if "endpoint" in params:
            _check_endpoint(params["endpoint"])
        for key in ("ssl_verify", "active"):
            if key in params:
                params[key] = as_bool(params[key], key)
        for key, value in params.items():
            if key in webhook and key not in ("id", "created_at", "created_by_id"):
                webhook[key] = value
        webhook["updated_by_id"] = req.user_id
        webhook["updated_at"] = self._stamp()
        return 200, copy.deepcopy(webhook)

    def _trigger_record(self, params: Mapping[str, Any], actor: int) -> dict[str, Any]:
        """POST /triggers: model_create_render (app/controllers/triggers_controller.rb) of a
        Trigger (app/models/trigger.rb: name required and unique regardless of case,
        activator action|time, execution_condition_mode selective|always)."""
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            raise unprocessable("Name can't be blank")
        if any(t["name"].lower() == name.lower() for t in self._triggers.values()):
            raise unprocessable("Name has already been taken")
        fields = _trigger_fields(params)
        now = self._stamp()
        record = {
            "id": self._next("trigger"),
            "name": name,
            "condition": {},
            "perform": {},
            "activator": "action",
            "execution_condition_mode": "selective",
            "active": True,
            "disable_notification": True,
            "localization": None,
            "timezone": None,
            "note": params.get("note"),
            "created_by_id": actor,
            "updated_by_id": actor,
            "created_at": now,
            "updated_at": now,
        }
        record.update(fields)
        self._triggers[record["id"]] = record
        return record

    def _r_triggers_index(self, req: Request) -> tuple[int, Any]:
        # model_index_render (renders_models.rb): id ASC, 500 a page, at most 1000
        triggers = paginate(list(self._triggers.values()), req, default=500)
        return 200, [copy.deepcopy(t) for t in triggers]

    def _r_triggers_create(self, req: Request) -> tuple[int, Any]:
        return 201, copy.deepcopy(self._trigger_record(req.params(), req.user_id))

    def _trigger(self, trigger_id: str) -> dict[str, Any]:
        trigger = self._triggers.get(int(trigger_id))
        if trigger is None:
            raise not_found("Trigger", trigger_id)
        return trigger

    def _r_triggers_show(self, req: Request, trigger_id: str) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._trigger(trigger_id))

    def _r_triggers_update(self, req: Request, trigger_id: str) -> tuple[int, Any]:
        # model_update_render (triggers_controller.rb), Trigger's validations (trigger.rb)
        trigger = self._trigger(trigger_id)
        params = req.params()
        name = params.get("name", trigger["name"])
        if not isinstance(name, str) or not name.strip():
            raise unprocessable("Name can't be blank")
        if any(
            t["name"].lower() == name.lower() and t["id"] != trigger["id"]
            for t in self._triggers.values()
        ):
            raise unprocessable("Name has already been taken")
        trigger.update(_trigger_fields(params))
        trigger["name"] = name
        if "note" in params:
            trigger["note"] = params["note"]
        trigger["updated_by_id"] = req.user_id
        trigger["updated_at"] = self._stamp()
        return 200, copy.deepcopy(trigger)


def _check_endpoint(endpoint: object) -> None:
    """validate_endpoint in app/models/webhook.rb: an http or https URI with a host."""
    if not isinstance(endpoint, str) or not re.match(r"^https?://[^\s/]+", endpoint):
        raise unprocessable("Endpoint is invalid (http or https URL)")


def _trigger_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in ("condition", "perform"):
        if key in params:
            if not isinstance(params[key], dict):
                raise unprocessable(f"{key} must be an object")
            fields[key] = copy.deepcopy(params[key])
    if "activator" in params:
        if params["activator"] not in ("action", "time"):
            raise unprocessable("Activator is not included in the list")
        fields["activator"] = params["activator"]
    if "execution_condition_mode" in params:
        if params["execution_condition_mode"] not in ("selective", "always"):
            raise unprocessable("Execution condition mode is not included in the list")
        fields["execution_condition_mode"] = params["execution_condition_mode"]
    for key in ("active", "disable_notification"):
        if key in params:
            fields[key] = as_bool(params[key], key)
    for key in ("localization", "timezone"):
        if key in params:
            fields[key] = params[key]
    return fields


def _rule_matches(
    operator: object, rule: Mapping[str, Any], actual: object, actor: int
) -> bool | None:
    """One trigger condition on a record value; None for operators this stand-in ignores."""
    pre_condition = rule.get("pre_condition", "specific")
    if pre_condition == "current_user.id":
        expected = [str(actor)]
    elif pre_condition == "not_set":
        expected = [""]
    else:
        expected = [condition_text(v) for v in as_list(rule.get("value"))]
    text = condition_text(actual)
    if operator == "is":
        return text in expected
    if operator == "is not":
        return text not in expected
    if operator in ("contains", "contains not"):
        found = any(e.lower() in text.lower() for e in expected if e)
        return found if operator == "contains" else not found
    return None
