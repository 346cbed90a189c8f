"""The webhook sender, as Zammad's TriggerWebhookJob: a background thread, the payload built
when the attempt is made, HMAC-SHA1 signed, five attempts with linear back-off."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from standins.zammad.values import ruby_json

log = logging.getLogger(__name__)


# app/jobs/trigger_webhook_job.rb: `retry_on RequestError, attempts: 5, wait: executions * 10 s`
# and the request's `open_timeout: 4, read_timeout: 30, total_timeout: 60` (applied in
# lib/user_agent.rb, get_http and make_connection). The 60 s total is not modelled: the read
# timeout counts per read, so a receiver that trickles its answer is never cut off here.
MAX_ATTEMPTS = 5


RETRY_WAIT_S = 10.0


OPEN_TIMEOUT_S = 4.0


READ_TIMEOUT_S = 30.0


MIN_OPEN_TIMEOUT_S = 1.0  # a scaled-down connect timeout would make loopback flaky under load


# Dropped from nested users in webhook payloads: USER_ATTRIBUTE_FILTER in
# app/jobs/trigger_webhook_job/record_payload/base.rb.
USER_PAYLOAD_HIDDEN = frozenset({
    "last_login", "login_failed", "password", "preferences", "group_ids", "groups",
    "authorization_ids", "authorizations",
})  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    """One webhook attempt. ``status`` is the receiver's answer; ``error`` says why it failed."""

    delivery_id: str
    trigger: str
    webhook_id: int
    ticket_id: int
    article_id: int | None
    attempt: int
    status: int | None
    error: str | None
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    started_at: float = field(repr=False)  # time.monotonic(), for back-off checks

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Job:
    delivery_id: str
    trigger_id: int
    webhook_id: int
    ticket_id: int
    article_id: int | None
    attempt: int = 1


class WebhookSender:
    """The queue of webhook jobs, their payload, their attempts and retries."""

    # ------------------------------------------------------------------ control API

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook attempt made, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued, waiting for a retry, or in flight.
        Returns False if that did not happen within ``timeout`` seconds."""
        with self._wake:
            return self._wake.wait_for(
                lambda: not self._queue and self._in_flight == 0, timeout=timeout
            )

    # ------------------------------------------------------------------ webhook payload

    def _user_payload(self, user_id: int | None) -> dict[str, Any]:
        user = self._users.get(user_id) if user_id is not None else None
        if user is None:
            return {}
        view = self._user_view(user, names=True)
        return _sorted({k: v for k, v in view.items() if k not in USER_PAYLOAD_HIDDEN})

    def _payload(self, ticket_id: int, article_id: int | None) -> dict[str, Any]:
        """Zammad's default payload (`default_payload` in app/jobs/trigger_webhook_job.rb),
        built when the attempt is made: app/jobs/trigger_webhook_job/record_payload/base.rb
        (attributes_with_association_names sorted by key, an association without a record is
        {}), record_payload/ticket.rb (owner, customer, created_by, updated_by, organization,
        priority and group as nested records) and record_payload/ticket/article.rb
        (created_by, updated_by, and accounted_time as `time_unit.to_f`, 0.0 without one)."""
        ticket = self._tickets[ticket_id]
        view = self._ticket_view(ticket, names=True)
        for key in ("owner", "customer", "created_by", "updated_by"):
            view[key] = self._user_payload(ticket[f"{key}_id"])
        organization = self._organizations.get(ticket["organization_id"])
        view["organization"] = (
            _sorted(self._organization_view(organization, names=True)) if organization else {}
        )
        view["priority"] = _sorted(
            self._simple_view(self._priorities[ticket["priority_id"]], names=True)
        )
        view["group"] = _sorted(self._group_view(self._groups[ticket["group_id"]], names=True))
        article: dict[str, Any] = {}
        if article_id is not None and article_id in self._articles:
            record = self._articles[article_id]
            article = self._article_view(record, names=True)
            article["created_by"] = self._user_payload(record["created_by_id"])
            article["updated_by"] = self._user_payload(record["updated_by_id"])
            accounted = [
                Decimal(t["time_unit"])
                for t in self._time_accountings.values()
                if t["ticket_article_id"] == article_id
            ]
            article["accounted_time"] = float(sum(accounted))  # nil.to_f is 0.0
            article = _sorted(article)
        return {"ticket": _sorted(view), "article": article}

    # ------------------------------------------------------------------ webhook sender

    def _enqueue(self, job: Job, due: float | None = None) -> None:
        heapq.heappush(self._queue, (due or time.monotonic(), next(self._queue_seq), job))
        self._wake.notify_all()

    def _sender_loop(self) -> None:
        while True:
            with self._wake:
                while not self._stopping:
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    if wait is not None and wait <= 0:
                        break
                    self._wake.wait(wait)
                if self._stopping:
                    return
                _, _, job = heapq.heappop(self._queue)
                self._in_flight += 1
                result = None
                try:
                    request = self._prepare_delivery(job)
                except Exception:
                    log.exception("zammad stand-in: building webhook payload failed")
                    request = None
            try:
                result = self._post(request) if request is not None else None
            finally:
                with self._wake:
                    if result is not None and request is not None and not self._stopping:
                        self._record_delivery(job, request, *result)
                    self._in_flight -= 1
                    self._wake.notify_all()

    def _prepare_delivery(self, job: Job) -> dict[str, Any] | None:
        """Build the request now, from current state (a retry carries newer ticket data).
        None when Zammad's job would abort: webhook gone or inactive, trigger or ticket gone.
        app/jobs/trigger_webhook_job.rb: `perform` builds the payload when it runs; `abort?`
        finds the webhook by id and `active: true`; a deleted trigger or ticket fails
        deserialisation and the job is discarded; `headers` adds X-Zammad-Trigger (the
        trigger's name) and X-Zammad-Delivery (the job id). lib/user_agent.rb: set_headers
        (User-Agent "Zammad User Agent"), set_params (Content-Type application/json;
        charset=utf-8, body `to_json`), set_basic_auth (only with user and password),
        set_signature (X-Hub-Signature sha1=HMAC-SHA1 of the body, only with a token and a
        body). Bearer is 7.x: the 6.x job passes no bearer_token."""
        webhook = self._webhooks.get(job.webhook_id)
        trigger = self._triggers.get(job.trigger_id)
        if webhook is None or not webhook["active"] or trigger is None:
            log.info("zammad stand-in: delivery %s aborted (webhook inactive)", job.delivery_id)
            return None
        if job.ticket_id not in self._tickets:
            return None
        body = ruby_json(self._payload(job.ticket_id, job.article_id))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zammad User Agent",
            "X-Zammad-Trigger": trigger["name"],
            "X-Zammad-Delivery": job.delivery_id,
        }
        token = webhook.get("signature_token")
        if token:
            digest = hmac.new(token.encode("utf-8"), body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature"] = f"sha1={digest}"
        if webhook.get("bearer_token"):
            headers["Authorization"] = f"Bearer {webhook['bearer_token']}"
        auth = None
        if webhook.get("basic_auth_username") and webhook.get("basic_auth_password"):
            auth = (webhook["basic_auth_username"], webhook["basic_auth_password"])
        return {
            "url": webhook["endpoint"],
            "body": body,
            "headers": headers,
            "verify": bool(webhook.get("ssl_verify", True)),
            "auth": auth,
            "trigger": trigger["name"],
        }

    def _post(self, request: Mapping[str, Any]) -> tuple[float, int | None, str | None]:
        """One attempt. lib/user_agent.rb: connect and read timeouts (get_http), verify_ssl,
        and `process`: only Net::HTTPSuccess (2xx) succeeds; a redirect with
        do_not_follow_redirects raises, which make_connection turns into a failed Result, as
        every 4xx, 5xx and connection error; the answer's body is ignored."""
        started = time.monotonic()
        session = self._session
        if session is None:
            return started, None, "stand-in not started"
        # header values as bytes: trigger names may hold non-Latin-1 characters
        headers = {k: v.encode("utf-8") for k, v in request["headers"].items()}
        timeout = (
            max(OPEN_TIMEOUT_S * self.time_scale, MIN_OPEN_TIMEOUT_S),
            READ_TIMEOUT_S * self.time_scale,
        )
        try:
            response = session.post(
                request["url"],
                data=request["body"],
                headers=headers,
                timeout=timeout,
                allow_redirects=False,  # Zammad does not follow redirects: a 3xx is a failure
                verify=request["verify"],
                auth=request["auth"],
            )
        except requests.RequestException as exc:
            return started, None, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # never let the sender thread die
            log.exception("zammad stand-in: webhook POST failed unexpectedly")
            return started, None, f"{type(exc).__name__}: {exc}"
        with response:
            status = response.status_code
        if 200 <= status < 300:
            return started, status, None
        return started, status, f"HTTP {status}"

    def _record_delivery(
        self,
        job: Job,
        request: Mapping[str, Any],
        started: float,
        status: int | None,
        error: str | None,
    ) -> None:
        self._deliveries.append(
            Delivery(
                delivery_id=job.delivery_id,
                trigger=request["trigger"],
                webhook_id=job.webhook_id,
                ticket_id=job.ticket_id,
                article_id=job.article_id,
                attempt=job.attempt,
                status=status,
                error=error,
                body=request["body"],
                headers=dict(request["headers"]),
                started_at=started,
            )
        )
        # A failure raises TriggerWebhookJob::RequestError; `retry_on` re-enqueues the same job
        # (same job id) after executions * 10 s, five executions in all, then gives up
        # (app/jobs/trigger_webhook_job.rb).
        if error is not None and job.attempt < MAX_ATTEMPTS:
            wait = job.attempt * RETRY_WAIT_S * self.time_scale
            retry = Job(
                delivery_id=job.delivery_id,
                trigger_id=job.trigger_id,
                webhook_id=job.webhook_id,
                ticket_id=job.ticket_id,
                article_id=job.article_id,
                attempt=job.attempt + 1,
            )
            self._enqueue(retry, time.monotonic() + wait)
        elif error is not None:
            log.warning(
                "zammad stand-in: delivery %s failed %d times, giving up",
                job.delivery_id,
                MAX_ATTEMPTS,
            )


def _sorted(record: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(record.items()))
