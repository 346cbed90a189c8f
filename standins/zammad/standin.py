"""An in-process Zammad stand-in that speaks Zammad's REST and webhook wire formats.

A test and demo tool, not part of the product: used by the test suite, the benchmarks and
``entitlements demo``. State (users, organisations, groups, tickets, articles, tags, time
accountings, object manager attributes, webhooks, triggers) lives in memory behind one lock,
set up in ``ZammadStandin.__init__`` below. The REST side answers what the adapter and zammad-py
call, with Zammad's paths (the route table below), response shapes and error bodies. Triggers
send webhooks the way Zammad's ``TriggerWebhookJob`` does: from a background sender, payload
built when the attempt is made, HMAC-SHA1 signed, five attempts with linear back-off. Faults
can be injected per request.

Search answers as Zammad 6.x does, with Elasticsearch (``search_index=True``: a query goes to
its ``query_string``, a query it cannot parse is answered 200 ``[]``) or without (SQL: the
condition as a selector, the query as a LIKE); a small query subset is evaluated in memory.

Permissions: an agent restricted by ``set_group_access`` reads, updates, lists and finds only
the tickets of its groups (TicketPolicy); tags, articles and time accountings do not check.

What it does not do: other permissions beyond one API token, SLA/escalation computation, the search
index's lag behind the database, trigger actions other than webhooks, custom webhook payloads.
It must stay free of ``adapter``/``connectors``/``webhooks``/``mappings`` imports.

The behaviour is split by concern into mixins of one class, each in its own module:
``store`` (ids, timestamps, seed data, lookups), ``views`` (records as the API renders them),
``users`` (users, organisations, groups), ``tickets``, ``articles`` (articles, time accounting,
tags), ``attributes`` (the object manager), ``triggers`` (webhooks and triggers), ``sender``
(the webhook jobs), ``search``, ``selector`` and ``query`` (search conditions and queries),
``faults`` (fault injection) and ``server`` (the HTTP entry point); ``values``, ``schema``,
``api`` and ``refusal`` hold what they share.

Usage::

    with ZammadStandin(time_scale=0.01) as zammad:
        client = ZammadAPI(url=zammad.api_url, http_token=zammad.token)
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from standins.loopback import LoopbackServer
from standins.zammad.articles import Articles
from standins.zammad.attributes import ObjectManager
from standins.zammad.faults import Fault, Faults
from standins.zammad.schema import AGENT_USER_ID, INTEGRATION_USER_ID, SYSTEM_USER_ID
from standins.zammad.search import Search
from standins.zammad.selector import Selector
from standins.zammad.sender import READ_TIMEOUT_S, Delivery, Job, WebhookSender
from standins.zammad.server import API_PREFIX, Handler, RequestRecord, Server
from standins.zammad.store import Records
from standins.zammad.tickets import Tickets
from standins.zammad.triggers import Triggers
from standins.zammad.users import Users
from standins.zammad.views import Views


class ZammadStandin(
    Users,
    Tickets,
    Articles,
    ObjectManager,
    Triggers,
    WebhookSender,
    Search,
    Selector,
    Views,
    Faults,
    Server,
    Records,
):
    """A small Zammad: REST API on 127.0.0.1, webhooks from triggers, faults on demand.

    ``time_scale`` scales the webhook retry waits (attempt x 10 s) and the read timeout (30 s);
    tests use e.g. 0.01. ``clock`` returns the current time (aware) for record timestamps.
    ``search_index``: whether Zammad has Elasticsearch configured (``search_index`` may be
    changed at any time); it decides how a search with a query is answered.
    """

    system_user_id = SYSTEM_USER_ID
    integration_user_id = INTEGRATION_USER_ID
    agent_user_id = AGENT_USER_ID

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        time_scale: float = 1.0,
        token: str | None = None,
        clock: Callable[[], datetime] | None = None,
        search_index: bool = True,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self.token = token or secrets.token_urlsafe(32)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._last_stamp: datetime | None = None
        self.search_index = search_index

        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._ids: dict[str, itertools.count[int]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._user_roles: dict[int, list[int]] = {}
        # Agents restricted by set_group_access: group id -> accesses; others have full.
        self._group_access: dict[int, dict[int, list[str]]] = {}
        self._organizations: dict[int, dict[str, Any]] = {}
        self._groups: dict[int, dict[str, Any]] = {}
        self._priorities: dict[int, dict[str, Any]] = {}
        self._states: dict[int, dict[str, Any]] = {}
        self._tickets: dict[int, dict[str, Any]] = {}
        self._articles: dict[int, dict[str, Any]] = {}
        self._ticket_articles: dict[int, list[int]] = {}
        self._time_accountings: dict[int, dict[str, Any]] = {}
        self._ticket_time: dict[int, list[int]] = {}
        self._tags: dict[int, list[str]] = {}
        self._attributes: dict[int, dict[str, Any]] = {}
        self._stale_columns: set[tuple[str, str]] = set()
        self._webhooks: dict[int, dict[str, Any]] = {}
        self._triggers: dict[int, dict[str, Any]] = {}
        self._faults: list[Fault] = []
        self._requests: list[RequestRecord] = []
        self._deliveries: list[Delivery] = []
        self._queue: list[tuple[float, int, Job]] = []
        self._queue_seq = itertools.count()
        self._in_flight = 0
        self._stopping = False
        self._routes = self._build_routes()
        self._seed()

        self._httpd = LoopbackServer((host, port), Handler, self, "zammad stand-in")
        self._serve_thread: threading.Thread | None = None
        self._sender_thread: threading.Thread | None = None
        self._session: requests.Session | None = None
        self._stopped = False

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """What zammad-py's ``ZammadAPI(url=...)`` takes."""
        return self.url + API_PREFIX

    def start(self) -> ZammadStandin:
        with self._lock:
            if self._stopped:
                raise RuntimeError("a stopped ZammadStandin cannot be restarted")
            if self._serve_thread is not None:
                return self
            session = requests.Session()
            session.trust_env = False  # no proxies from the environment for webhook POSTs
            self._session = session
            self._serve_thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="zammad-standin-http",
                daemon=True,
            )
            self._sender_thread = threading.Thread(
                target=self._sender_loop, name="zammad-standin-webhooks", daemon=True
            )
        self._serve_thread.start()
        self._sender_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and sending; pending webhook deliveries are dropped."""
        with self._wake:
            if self._stopped:
                return
            self._stopped = True
            self._stopping = True
            self._wake.notify_all()
        if self._serve_thread is not None:
            self._httpd.shutdown()
            self._serve_thread.join()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._sender_thread is not None:
            self._sender_thread.join(timeout=READ_TIMEOUT_S * self.time_scale + 5)
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> ZammadStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _build_routes(
        self,
    ) -> list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]]:
        # Paths and methods as Zammad routes them: config/routes/user.rb, organization.rb,
        # group.rb, ticket.rb (tickets, time accountings, merge, articles, states,
        # priorities), role.rb, tag.rb, object_manager_attribute.rb, webhook.rb, trigger.rb.
        table: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("GET", r"users/me", self._r_users_me),
            ("GET", r"users", self._r_users_index),
            ("GET", r"users/search", self._r_users_search),
            ("GET", r"users/(\d+)", self._r_users_show),
            ("GET", r"organizations", self._r_organizations_index),
            ("GET", r"organizations/search", self._r_organizations_search),
            ("POST", r"organizations/search", self._r_organizations_search),
            ("GET", r"organizations/(\d+)", self._r_organizations_show),
            ("PUT", r"organizations/(\d+)", self._r_organizations_update),
            ("GET", r"groups", self._r_groups_index),
            ("GET", r"groups/(\d+)", self._r_groups_show),
            ("GET", r"ticket_states", self._r_states_index),
            ("GET", r"ticket_priorities", self._r_priorities_index),
            ("GET", r"roles", self._r_roles_index),
            ("GET", r"tickets", self._r_tickets_index),
            ("POST", r"tickets", self._r_tickets_create),
            ("GET", r"tickets/search", self._r_tickets_search),
            ("POST", r"tickets/search", self._r_tickets_search),
            ("GET", r"tickets/(\d+)", self._r_tickets_show),
            ("PUT", r"tickets/(\d+)", self._r_tickets_update),
            ("GET", r"tickets/(\d+)/time_accountings", self._r_time_index),
            ("POST", r"tickets/(\d+)/time_accountings", self._r_time_create),
            ("PUT", r"ticket_merge/(\d+)/([^/]+)", self._r_ticket_merge),
            ("GET", r"tags", self._r_tags_list),
            ("POST", r"tags/add", self._r_tags_add),
            ("DELETE", r"tags/remove", self._r_tags_remove),
            ("POST", r"ticket_articles", self._r_articles_create),
            ("GET", r"ticket_articles/(\d+)", self._r_articles_show),
            ("GET", r"ticket_articles/by_ticket/(\d+)", self._r_articles_by_ticket),
            ("GET", r"object_manager_attributes", self._r_attributes_index),
            ("POST", r"object_manager_attributes", self._r_attributes_create),
            ("GET", r"object_manager_attributes/(\d+)", self._r_attributes_show),
            ("PUT", r"object_manager_attributes/(\d+)", self._r_attributes_update),
            ("POST", r"object_manager_attributes_execute_migrations", self._r_migrations),
            ("GET", r"webhooks", self._r_webhooks_index),
            ("POST", r"webhooks", self._r_webhooks_create),
            ("GET", r"webhooks/(\d+)", self._r_webhooks_show),
            ("PUT", r"webhooks/(\d+)", self._r_webhooks_update),
            ("GET", r"triggers", self._r_triggers_index),
            ("POST", r"triggers", self._r_triggers_create),
            ("GET", r"triggers/(\d+)", self._r_triggers_show),
            ("PUT", r"triggers/(\d+)", self._r_triggers_update),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]
