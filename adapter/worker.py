"""The worker: inbox rows become decisions, outbox rows become writes in the helpdesk.

A decision, its ledger changes and its outbox row commit in one transaction, and the inbox row
is marked done in that same transaction, so a crash anywhere leaves either all of it or none
(the row is then taken again after its lease). The outbox row is leased to the deciding worker
in that transaction, which writes it at once: an event costs two transactions, not four.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from adapter import metrics
from adapter.decisions import decide_ticket, record
from adapter.engine import best_covering, contract_view
from adapter.errors import ApiError, TicketNotReadable
from adapter.licences import CUSTOMER_CHANGED
from adapter.providers import enabled
from adapter.renewals import TERMS_INTERVAL, terms_job
from adapter.retry import backoff
from adapter.services import Services
from adapter.store.queue import Claimed, LeaseLost

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
PURGE_INTERVAL = timedelta(hours=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(
        self,
        services: Services,
        *,
        clock: Clock = utcnow,
        batch: int = 10,
        retry_base: float = 10.0,
        periodic_jobs: bool = True,
    ) -> None:
        settings = services.settings
        self.services = services
        self.clock = clock
        self.batch = batch
        self.lease = timedelta(seconds=settings.lease)
        self.owner = str(uuid.uuid4())  # names this worker on the rows it claims
        self.retry_base = retry_base  # seconds before a row's second attempt; doubles after
        self.max_attempts = settings.max_attempts
        self.max_age = timedelta(seconds=settings.dead_after)
        self.jobs: list[tuple[str, timedelta, Callable[[Services, datetime], object]]] = []
        if periodic_jobs:  # one thread per process runs them
            if settings.reconcile_interval:
                for helpdesk in services.helpdesks.values():
                    self.jobs.append(
                        (
                            f"{helpdesk.name}.reconcile",
                            timedelta(seconds=settings.reconcile_interval),
                            lambda s, now, h=helpdesk: h.reconcile(s.store, now),
                        )
                    )
            self.jobs += [
                (job.name, timedelta(seconds=job.every), job.run)
                for provider in enabled(settings)
                for job in provider.jobs(settings)
                if job.every
            ]
            # Need nothing outside the database, so they run wherever a worker runs.
            self.jobs.append(("store.purge", PURGE_INTERVAL, purge))
            self.jobs.append(("contracts.terms", TERMS_INTERVAL, terms_job))
        self._last_run: dict[str, datetime] = {}

    def run_once(self) -> int:
        """One pass over what is due; returns how many rows it handled."""
        self._jobs_when_due()
        handled = 0
        store = self.services.store
        for queue, step in (("inbox", self.decide), ("outbox", self.deliver)):
            for row in store.claim(
                queue,
                self.clock(),
                limit=self.batch,
                lease=self.lease,
                owner=self.owner,
                helpdesks=self.services.helpdesks,
            ):
                self._attempt(row, step)
                handled += 1
        return handled

    def run(self, stop: threading.Event, poll: float = 1.0) -> None:
        """Until `stop` is set; wakes early when the web tier accepted something. Meanwhile a
        second thread renews the leases of the rows this worker holds, so a slow delivery (a
        chain of retries against a slow helpdesk) is never taken by a second worker."""
        wake = self.services.wake
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew_leases,
            args=(done,),
            name=f"{threading.current_thread().name}-lease",
            daemon=True,  # never what keeps a process from exiting
        )
        renewer.start()
        try:
            while not stop.is_set():
                try:
                    busy = self.run_once()
                except Exception:  # the loop must survive a bad pass; the rows keep their state
                    logger.exception("worker.pass-failed")
                    busy = 0
                if not busy:
                    wake.wait(poll)
                    wake.clear()
        finally:
            done.set()
            renewer.join()

    def _renew_leases(self, done: threading.Event) -> None:
        """Every third of a lease, extend the leases this worker holds by a whole lease."""
        while not done.wait(self.lease.total_seconds() / 3):
            try:
                self.services.store.extend(self.owner, self.clock() + self.lease)
            except Exception:  # the database away for a moment: the next round tries again
                logger.exception("worker.lease-renewal-failed")

    def _jobs_when_due(self) -> None:
        """Reconcile each helpdesk and run the providers' jobs (the ERP pull) when their
        interval has passed. A failure waits for the next interval."""
        now = self.clock()
        for name, every, run in self.jobs:
            last = self._last_run.get(name)
            if last is not None and now - last < every:
                continue
            self._last_run[name] = now
            try:
                result = run(self.services, now)
            except Exception as e:  # an outside system down or not configured: next interval
                logger.warning("worker.job-failed", extra={"job": name, "error": str(e)})
                metrics.count_job(name, ok=False)
            else:
                logger.info("worker.job-done", extra={"job": name, "result": str(result)})
                metrics.count_job(name, ok=True)

    def drain(self, timeout: float = 30.0) -> None:
        """Run passes until nothing is due (tests, the demo)."""
        deadline = utcnow() + timedelta(seconds=timeout)
        while self.run_once() and utcnow() < deadline:
            pass

    def _attempt(self, row: Claimed, step: Callable[[Claimed], None]) -> None:
        extra = {
            "queue": row.queue,
            "row": row.id,
            "helpdesk": row.helpdesk,
            "ticket_id": row.ticket_id,
        }
        try:
            step(row)
        except LeaseLost:
            # Another worker holds the row now: what this attempt would have committed was
            # rolled back, and what it wrote to the helpdesk the other finds already there.
            logger.warning("worker.lease-lost", extra=extra)
        except ApiError as e:
            retry_in = (
                backoff(row.attempts + 1, self.retry_base, hint=e.retry_after)
                if e.retriable
                else None
            )
            self._fail(row, f"{type(e).__name__}: {e}", retry_in, extra)
        except (ValidationError, ValueError, KeyError) as e:
            # The payload cannot become facts: no retry will change that.
            self._fail(row, f"{type(e).__name__}: {e}", None, extra)
        except Exception as e:  # a bug or an outage we did not foresee: keep the row, count it
            logger.exception("worker.unexpected", extra=extra)
            self._fail(
                row, f"{type(e).__name__}: {e}", backoff(row.attempts + 1, self.retry_base), extra
            )

    def _fail(self, row: Claimed, error: str, retry_in: float | None, extra: dict) -> None:
        try:
            dead = self.services.store.fail(
                row,
                error,
                self.clock(),
                retry_in=retry_in,
                max_attempts=self.max_attempts,
                max_age=self.max_age,
            )
        except LeaseLost:  # the row's state belongs to its new holder
            logger.warning("worker.lease-lost", extra={**extra, "error": error})
            return
        logger.warning(
            "worker.dead-letter" if dead else "worker.retry", extra={**extra, "error": error}
        )
        metrics.count_failure(row.queue, dead)

    def decide(self, row: Claimed) -> None:
        services = self.services
        helpdesk = services.helpdesks[row.helpdesk]
        data = json.loads(row.payload)
        if CUSTOMER_CHANGED in data:
            self.customer_changed(row, data[CUSTOMER_CHANGED])
            return
        try:
            facts = helpdesk.facts(data)  # may call the helpdesk: outside the transaction
        except TicketNotReadable as e:
            self.not_readable(row, e)
            return
        store, now = services.store, self.clock()
        with store.session() as session:
            decided = decide_ticket(
                store, session, services.policy, helpdesk, facts, now, inbox=row.id
            )
            # The write-back is leased to this worker in the same transaction and written
            # right after it: no claim and no read of the outbox of its own.
            held = record(store, session, helpdesk, decided, hold=(self.owner, now + self.lease))
            write = self._payload(session, held, newest=(held.id, held.payload)) if held else None
            store.finish(session, row, now)
        logger.info(
            "worker.decided",
            extra={"ticket_id": facts.ticket_id, "billable": decided.decision.billable},
        )
        metrics.count_decision(helpdesk.name, decided.decision)
        if held:
            self._attempt(held, lambda held: self._write(held, write))

    def not_readable(self, row: Claimed, error: TicketNotReadable) -> None:
        """The helpdesk refused the ticket: another team's, in a group the adapter was not
        given, so not a support ticket, and done. One decided before is a dead letter (the
        error says what to grant): its count is at stake."""
        store = self.services.store
        with store.session() as session:
            if store.last_decision(session, row.helpdesk, row.ticket_id) is not None:
                raise error
            store.finish(session, row, self.clock())
        logger.info("worker.ticket-not-readable", extra={"ticket_id": row.ticket_id})

    def customer_changed(self, row: Claimed, customer: str) -> None:
        """A customer's contracts changed: its records in the helpdesk (e.g. plan fields), and
        every open ticket decided again (written back only where the decision changes)."""
        services = self.services
        helpdesk = services.helpdesks[row.helpdesk]
        store, now = services.store, self.clock()
        with store.session() as session:
            contracts = store.contracts_for(session, customer)
        today = now.astimezone(services.policy.calendar.time_zone).date()
        best = best_covering(contracts, today, services.policy)
        view = contract_view(best, today) if best else None
        writes, tickets = helpdesk.customer_changed(  # reads the helpdesk
            customer,
            best.plan if best else None,
            view.valid_until if view else None,
            notice_by=view.notice_by if view else None,
        )
        with store.session() as session:
            for key, payload in writes:
                store.add_outbox(session, helpdesk.name, key, payload, now)
            for ticket_id, payload in tickets:
                store.accept_inbox(
                    session,
                    helpdesk=helpdesk.name,
                    delivery_id=f"recheck:{row.id}:{ticket_id}",
                    ticket_id=ticket_id,
                    trigger="licences",
                    payload=payload,
                    now=now,
                )
            store.finish(session, row, now)
        logger.info(
            "worker.customer-changed", extra={"customer": customer, "tickets": len(tickets)}
        )

    def deliver(self, row: Claimed) -> None:
        with self.services.store.session() as session:
            payload = self._payload(session, row)
        self._write(row, payload)

    def _payload(
        self, session: Session, row: Claimed, newest: tuple[int, Any] | None = None
    ) -> dict[str, Any]:
        """What to write for an outbox row: fields and tags converge to the newest write-back
        of the record (`newest`, if the caller knows it); a note is this row's own."""
        store = self.services.store
        latest_id, latest = newest or store.latest_outbox(session, row.helpdesk, row.ticket_id)
        payload = {**latest, "note": row.payload.get("note")}
        # `seen`: the record as the helpdesk read it to decide, which spares a read before
        # writing. Trusted only for the first attempt of the newest row (no attempt before,
        # not even one that died), and only if no write-back of ours reached the record since
        # it was read.
        seen_at = (payload.get("seen") or {}).get("at")
        if (
            seen_at is None
            or not row.first
            or latest_id != row.id
            or store.written_since(
                session, row.helpdesk, row.ticket_id, datetime.fromisoformat(seen_at)
            )
        ):
            payload.pop("seen", None)
        return payload

    def _write(self, row: Claimed, payload: dict[str, Any]) -> None:
        store = self.services.store

        def fence(seconds: float) -> None:
            # While the lease this worker set outlasts the write by half a lease (the hosts'
            # clocks may differ that much), no one can take the row: a claim needs a lease
            # that has ended. Else ask the database, which extends the lease.
            left = row.until - self.clock() if row.until else timedelta(0)
            if left >= timedelta(seconds=seconds) + self.lease / 2:
                return
            store.fence(row, self.clock() + max(self.lease, timedelta(seconds=seconds)))

        done = self.services.helpdesks[row.helpdesk].deliver(payload, fence)
        with store.session() as session:
            store.finish(session, row, self.clock())
        logger.info("worker.delivered", extra={"ticket_id": row.ticket_id, "done": done})


def purge(services: Services, now: datetime, before: datetime | None = None) -> int:
    """Blank the payloads of inbox rows processed before `before` (default: `RETENTION_DAYS`
    ago); returns how many. The worker runs it every `PURGE_INTERVAL`."""
    if before is None:
        before = now - timedelta(days=services.settings.retention_days)
    return services.store.purge_payloads(before)


def start_threads(services: Services, stop: threading.Event, count: int) -> list[threading.Thread]:
    """`count` workers in threads of this process (the calls to the helpdesk overlap; the
    database keeps them apart). The first one also runs the periodic jobs."""
    threads = []
    for n in range(count):
        worker = Worker(services, periodic_jobs=n == 0)
        thread = threading.Thread(target=worker.run, args=(stop,), name=f"worker-{n}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
