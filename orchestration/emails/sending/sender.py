"""Send rendered e-mails exactly once, recording every attempt in the send ledger.

The e-mails go out in units: up to `batch_size` messages due at the same instant, sharing one
scheduled batch. For each unit, the thread that called `send_emails` (it owns the DuckDB
connection and makes every ledger write) writes the unit's attempts as `pending` in one
statement, worker threads make the requests, then one statement records every answer; the
next unit is prepared while a unit's requests are in flight. So the order per message is
always: ledger `pending` (attempt n, its batch) → provider call → ledger `accepted` /
`in_doubt` / `failed`, and at most two units are `pending` at any time.

An attempt in doubt (a 5xx, a time-out, a dropped connection, or a row found `pending` after
a crash) is parked, and the run goes on with the others. It is settled, in this run or a
later one, by whichever comes first:

- a cancel of its batch, when SendGrid still allows one and a cancel slot is free: every
  message of the batch is then withdrawn and sent again (the batch's other messages too);
- the provider's events: one for its send_key shows it was taken (sent); none although the
  events received reach past its send_at shows it was not (sent again, while it is due);
- neither, ever (no cancel possible, no events past its send_at for `give_up_after`): it is
  marked `failed` / `unresolved` for an operator.

When the provider fails every request (`outage_after` failures in a row), the run holds the
other messages and probes with one message at a time, backing off, for up to
`outage_patience`; then it stops, and the e-mails it could not send are recorded as
`failed` / `transient` with the reason: a later run sends them.
See docs/sending.md.
"""

import heapq
import itertools
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending import ledger
from orchestration.emails.sending.backend import (
    DELIVERING_BACKENDS,
    Attempt,
    AttemptUnavailable,
    DeliveryTooFarAhead,
    SendBackend,
    SendResult,
    SendStatus,
    WithdrawStatus,
)
from orchestration.emails.sending.events import EventLog, EventSource, WarehouseEvents
from orchestration.emails.sending.ledger import AttemptResult, LedgerRow
from orchestration.emails.sending.redaction import scrub
from orchestration.emails.sending.retry import RetryPolicy
from orchestration.warehouse import WarehouseConnection

logger = logging.getLogger(__name__)

OutcomeStatus = Literal[
    "accepted",  # handed over in this run
    "already_sent",  # accepted by an earlier run: skipped
    "confirmed",  # an earlier attempt in doubt, shown taken by the provider's events
    "failed",  # failed in this run (reason in `error` and in the ledger)
    "previously_failed",  # failed for good in an earlier run (rejected or unresolved): skipped
    "in_doubt",  # an attempt may have been taken and nothing settles it yet: parked
    "duplicate",  # the same send_key appeared earlier in this run's input
    "not_attempted",  # the run was aborted, or stopped by an outage, before its turn
    "deferred",  # its delivery window is too far ahead to schedule now: a later run sends it
]
_EARLIEST = datetime(1970, 1, 1)
# The outcomes that mean a due e-mail was not handed over and nothing will do it by itself.
FAILED_OUTCOMES = ("failed", "not_attempted")


@dataclass(frozen=True)
class SendingPolicy:
    """How the sender batches, settles doubt and rides out outages (docs/sending.md)."""

    batch_size: int = 100  # messages per unit, and so per SendGrid batch
    # SendGrid: "You can't pause or cancel more than 10 different batches at one time".
    cancel_slots: int = 10
    # Slots kept for batches that are at least half in doubt (an outage): a batch that is
    # mostly accepted messages is cancelled only while more slots than this are free.
    reserved_slots: int = 5
    # The events received must reach this far past a send_at before "no event" counts.
    event_settle: timedelta = timedelta(hours=2)
    # No cancel possible and no events this long after send_at: unresolved.
    give_up_after: timedelta = timedelta(hours=72)
    outage_after: int = 5  # provider failures in a row that make an outage
    outage_patience: float = 600.0  # seconds an outage is waited out before the run stops

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.outage_after < 1:
            raise ValueError("batch_size and outage_after must be at least 1")


@dataclass(frozen=True)
class MessageOutcome:
    send_key: str
    status: OutcomeStatus
    attempts: int = 0  # send attempts made in this run
    provider_message_id: str | None = None
    error: str | None = None
    resent_after_cancel: bool = False  # sent again after its batch was cancelled
    resent_after_no_event: bool = False  # sent again: no provider event by its send_at


@dataclass
class SendReport:
    backend: str
    outcomes: list[MessageOutcome] = field(default_factory=list)
    aborted: str | None = None  # the run stopped at once (credentials, no batch endpoints)
    outage: str | None = None  # the provider failed; what the run did about it
    settled: Counter = field(default_factory=Counter)  # attempts in doubt settled, ledger-wide
    cancelled_batches: int = 0  # batches this run cancelled
    ledger_in_doubt: int = 0  # rows in doubt in the whole ledger after the run
    # Settled in the ledger, but not due in this run (another job's, or an older trigger's):
    # send_key -> why. Withdrawn ones are sent by the run that has them due, if any.
    withdrawn_elsewhere: dict[str, str] = field(default_factory=dict)
    unresolved_elsewhere: dict[str, str] = field(default_factory=dict)

    def count(self, status: OutcomeStatus) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    @property
    def already_sent(self) -> int:
        return self.count("already_sent")

    @property
    def confirmed(self) -> int:
        return self.count("confirmed")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def previously_failed(self) -> int:
        return self.count("previously_failed")

    @property
    def in_doubt(self) -> int:
        return self.count("in_doubt")

    @property
    def not_attempted(self) -> int:
        return self.count("not_attempted")

    @property
    def deferred(self) -> int:
        return self.count("deferred")

    @property
    def resent_after_cancel(self) -> int:
        """Accepted in this run after an earlier attempt's batch was cancelled."""
        return sum(o.status == "accepted" and o.resent_after_cancel for o in self.outcomes)

    @property
    def resent_after_no_event(self) -> int:
        """Accepted in this run after the events showed an earlier attempt was not taken."""
        return sum(o.status == "accepted" and o.resent_after_no_event for o in self.outcomes)

    @property
    def not_sent(self) -> int:
        """Due e-mails this run neither handed over nor left to settle by themselves, and
        attempts of other runs that turned unresolved (an operator decides)."""
        failed = sum(outcome.status in FAILED_OUTCOMES for outcome in self.outcomes)
        return failed + len(self.unresolved_elsewhere)

    def by_key(self) -> dict[str, MessageOutcome]:
        return {outcome.send_key: outcome for outcome in self.outcomes}

    def summary(self) -> str:
        counts = Counter(outcome.status for outcome in self.outcomes)
        parts = [f"{counts[status]} {status.replace('_', ' ')}" for status in sorted(counts)]
        text = f"{self.backend}: " + (", ".join(parts) or "nothing to send")
        resent = []
        if self.resent_after_cancel:
            resent.append(f"{self.resent_after_cancel} after cancelling their batch")
        if self.resent_after_no_event:
            resent.append(f"{self.resent_after_no_event} after no provider event")
        if resent:
            text += f" (re-sent: {', '.join(resent)})"
        if self.settled:
            text += "; settled in the ledger: " + ", ".join(
                f"{n} {what.replace('_', ' ')}" for what, n in sorted(self.settled.items())
            )
        if self.ledger_in_doubt:
            text += f"; {self.ledger_in_doubt} in doubt in the ledger (parked)"
        if self.withdrawn_elsewhere:
            text += (
                f"; {len(self.withdrawn_elsewhere)} not delivered, not due in this run: "
                "the run that has them due sends them"
            )
        if self.unresolved_elsewhere:
            text += f"; {len(self.unresolved_elsewhere)} not due in this run turned unresolved"
        if self.outage:
            text += f"; outage: {self.outage}"
        if self.aborted:
            text += f"; aborted: {self.aborted}"
        return text


class SendingAborted(RuntimeError):
    """Nothing else would succeed (the provider refused the credentials, or has no batch
    endpoints and the settings require them). Carries the report."""

    def __init__(self, reason: str, report: SendReport) -> None:
        super().__init__(f"sending aborted: {reason}")
        self.reason = reason
        self.report = report


def send_emails(
    con: WarehouseConnection,
    emails: Iterable[RenderedEmail],
    backend: SendBackend,
    *,
    max_workers: int = 8,
    retry: RetryPolicy | None = None,
    policy: SendingPolicy | None = None,
    events: EventSource | None = None,
) -> SendReport:
    """Send each e-mail at most once ever, and each due one exactly once.

    `con` is the warehouse connection (autocommit; the ledger must exist, see
    `ensure_send_ledger`). It is used from this thread only; `emails` is read in full before
    the first request, so it must not be a lazy cursor on it. `events` are the provider's
    events that settle attempts in doubt (default: the staged SendGrid events of the
    warehouse, if any). Raises `SendingAborted` when nothing could succeed, after recording
    what was done.
    """
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    run = _Run(
        con,
        backend,
        retry or RetryPolicy(),
        policy or SendingPolicy(),
        events or WarehouseEvents(),
        max_workers,
    )
    report = run.run(emails)
    logger.info("send: %s", report.summary())
    if report.aborted:
        raise SendingAborted(report.aborted, report)
    return report


@dataclass
class _Job:
    """One message this run has to send, and how it went so far."""

    email: RenderedEmail
    attempt: Attempt  # planned: its time; the batch comes with its unit
    attempts: int = 0  # requests made in this run
    tries: int = 0  # failed tries while the provider was answering (bounded by max_attempts)
    after_cancel: bool = False
    after_no_event: bool = False
    last_reason: str = "no attempt made"


@dataclass(frozen=True)
class _InFlight:
    """A unit whose requests are being made."""

    batch_id: str | None
    jobs: list[_Job]
    futures: list[Future]


@dataclass
class _BatchState:
    """What this run knows of a batch it sent in."""

    first_send_at: datetime
    accepted: int = 0
    in_doubt: int = 0


class _Run:
    def __init__(
        self,
        con: WarehouseConnection,
        backend: SendBackend,
        retry: RetryPolicy,
        policy: SendingPolicy,
        events: EventSource,
        max_workers: int,
    ) -> None:
        self.con = con
        self.backend = backend
        self.retry = retry
        self.policy = policy
        self.events = events
        self.max_workers = max_workers
        self.report = SendReport(backend=backend.name)
        self.emails: dict[str, RenderedEmail] = {}
        self.jobs: dict[str, _Job] = {}
        self.parked: dict[str, str] = {}  # send_key -> why it is in doubt
        self.ready: deque[_Job] = deque()
        self.waiting: list[tuple[float, int, _Job]] = []  # (monotonic time, order, job)
        self._order = itertools.count()
        self.batches: dict[str, _BatchState] = {}
        self.doubt_batch: str | None = None  # a batch holding only attempts in doubt
        self.cancel_refused = False
        self.requests_made = 0  # while the provider works
        self.answers_in_doubt = 0
        self.streak_in_doubt = 0  # the answers in doubt in a row that may start an outage
        self.confirmed: set[str] = set()  # shown taken by the provider's events, this run
        self.decided: set[str] = set()  # an outcome was given while settling doubt
        # the provider's health: failures in a row (set from workers)
        self._lock = threading.Lock()
        self._failures_in_a_row = 0
        self._last_failure = ""
        self._halt = threading.Event()  # an outage: workers start nothing new
        self.outage_since: float | None = None
        self.outage_probes = 0

    def now(self) -> datetime:
        return self.backend.clock()

    # --- the run --------------------------------------------------------------------------

    def run(self, emails: Iterable[RenderedEmail]) -> SendReport:
        for email in emails:
            if email.send_key in self.emails:
                self.report.outcomes.append(MessageOutcome(email.send_key, "duplicate"))
            else:
                self.emails[email.send_key] = email
        cancelled = self._settle_cancels()
        withdrawn = self._settle_doubt() | dict.fromkeys(cancelled, "cancelled")
        self._plan(withdrawn)
        self._cancel_parked()
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="flywheel-send") as pool:
            self._send_all(pool)
        self._finish()
        return self.report

    def _plan(self, withdrawn: dict[str, str]) -> None:
        """What each e-mail needs, from its ledger row; the messages to send, in the order
        of their send time."""
        rows = ledger.fetch_rows(self.con, self.emails)
        cancelling = ledger.fetch_batches(self.con, ["cancelling"])
        to_send: list[_Job] = []
        for key, email in self.emails.items():
            row = rows.get(key)
            if key in self.decided:
                continue
            if key in self.confirmed:
                outcome = MessageOutcome(
                    key, "confirmed", provider_message_id=row.provider_message_id
                )
                self.report.outcomes.append(outcome)
            elif row is not None and row.status == "accepted":
                if row.batch_id in cancelling:
                    self.parked[key] = f"a cancel of its batch {row.batch_id} is not confirmed"
                else:
                    self.report.outcomes.append(
                        MessageOutcome(
                            key, "already_sent", provider_message_id=row.provider_message_id
                        )
                    )
            elif row is not None and row.status == "failed" and row.failure_kind != "transient":
                self.report.outcomes.append(
                    MessageOutcome(key, "previously_failed", error=row.error)
                )
            elif row is not None and row.in_doubt:
                self.parked[key] = row.error or "an earlier attempt is in doubt"
            else:
                job = self._new_job(email)
                if job is not None:
                    job.after_cancel = withdrawn.get(key) == "cancelled"
                    job.after_no_event = withdrawn.get(key) == "no_event"
                    to_send.append(job)
        to_send.sort(key=lambda job: job.attempt.send_at or job.attempt.scheduled_for or _EARLIEST)
        self.ready.extend(to_send)

    def _new_job(self, email: RenderedEmail) -> _Job | None:
        try:
            attempt = self.backend.plan(email.delivery)
        except DeliveryTooFarAhead as exc:
            logger.info("send_key=%s deferred: %s", email.send_key, exc)
            self.report.outcomes.append(MessageOutcome(email.send_key, "deferred", error=str(exc)))
            return None
        job = self.jobs.get(email.send_key)
        if job is None:
            job = self.jobs[email.send_key] = _Job(email, attempt)
        job.attempt = attempt
        return job

    def _finish(self) -> None:
        """Outcomes for what is left: parked attempts in doubt, and messages not sent."""
        left = [job for job in self.ready] + [job for _, _, job in self.waiting]
        if self.report.aborted is not None:
            for job in left:
                self.report.outcomes.append(
                    MessageOutcome(
                        job.email.send_key, "not_attempted", job.attempts, error="run aborted"
                    )
                )
        elif left:
            reason = scrub(
                f"not sent: {self.report.outage or 'the run stopped'}; a later run sends it"
            )
            ledger.record_not_sent(
                self.con,
                [job.email for job in left],
                self.backend.name,
                "transient",
                reason,
                self.now(),
            )
            for job in left:
                self.report.outcomes.append(
                    MessageOutcome(job.email.send_key, "not_attempted", job.attempts, error=reason)
                )
        for key, reason in self.parked.items():
            job = self.jobs.get(key)
            self.report.outcomes.append(
                MessageOutcome(key, "in_doubt", job.attempts if job else 0, error=reason)
            )
        self.report.ledger_in_doubt = len(ledger.rows_in_doubt(self.con))
        if self.parked:
            logger.warning(
                "send: %d e-mail(s) in doubt are parked: a cancel or the provider's events "
                "settle them in a later run (docs/sending.md)",
                len(self.parked),
            )

    # --- units ----------------------------------------------------------------------------

    def _next_unit(self) -> list[_Job]:
        """The next messages to send together: due at the same instant, at most
        `batch_size` (one, as a probe, during an outage)."""
        self._wake_waiting()
        if not self.ready:
            delay = self.waiting[0][0] - time.monotonic()
            if delay > 0:
                time.sleep(min(delay, 1.0))
            return []
        if self.outage_since is not None:
            self._wait_before_probe()
            size = 1
        else:
            size = self.policy.batch_size
        unit: list[_Job] = []
        others: list[_Job] = []
        while self.ready and len(unit) < size and len(others) < size:
            job = self.ready.popleft()
            fresh = self._new_job(job.email)  # planned again: "as soon as possible" moves
            if fresh is None:
                continue
            if not unit or fresh.attempt.send_at == unit[0].attempt.send_at:
                unit.append(fresh)
            else:
                others.append(fresh)
        self.ready.extendleft(reversed(others))
        return unit

    def _wake_waiting(self) -> None:
        now = time.monotonic()
        while self.waiting and self.waiting[0][0] <= now:
            self.ready.append(heapq.heappop(self.waiting)[2])

    def _send_all(self, pool: ThreadPoolExecutor) -> None:
        """Send unit after unit. While a unit's requests are in flight, the next unit is
        prepared (its batch, its `pending` write), so at most two units are pending at once;
        during an outage, one probe at a time."""
        in_flight: _InFlight | None = None
        while self.report.aborted is None:
            self._wake_waiting()
            if in_flight is not None and (
                self._halt.is_set() or self.outage_since is not None or not self.ready
            ):
                self._complete(in_flight)
                in_flight = None
                continue
            if not self.ready and not self.waiting:
                if not self._cancel_parked():  # end of a pass: settle what it parked
                    break
                continue
            if self._outage_over_patience():
                break
            probe = self.outage_since is not None  # a unit of one, sent whatever fails
            unit = self._next_unit()
            prepared = self._prepare(unit) if unit else None
            if in_flight is not None:
                self._complete(in_flight)
            in_flight = None
            if prepared is not None:
                batch_id, jobs = prepared
                futures = [pool.submit(self._attempt, job, probe) for job in jobs]
                in_flight = _InFlight(batch_id, jobs, futures)
        if in_flight is not None:
            self._complete(in_flight)

    def _prepare(self, unit: list[_Job]) -> tuple[str | None, list[_Job]] | None:
        """The unit's batch, and its attempts written `pending` (one statement)."""
        try:
            batch_id = self._batch_for(unit)
        except AttemptUnavailable as exc:
            if exc.abort_run:
                self._abort(exc.reason)
                self.ready.extendleft(reversed(unit))
                return None
            self._provider_failed(scrub(exc.reason))
            for job in unit:
                self._retry_later(job, scrub(exc.reason), None, pending=False)
            return None
        attempts = [(job.email, job.attempt.in_batch(batch_id)) for job in unit]
        written = ledger.record_pending_unit(self.con, attempts, self.now())
        sendable = []
        for job, (_, attempt) in zip(unit, attempts, strict=True):
            if job.email.send_key in written:
                job.attempt = attempt
                job.attempts += 1
                sendable.append(job)
            else:  # accepted meanwhile (another process): never send it again
                self.report.outcomes.append(MessageOutcome(job.email.send_key, "already_sent"))
        return batch_id, sendable

    def _complete(self, unit: "_InFlight") -> None:
        """Wait for a unit's answers and record them (one statement)."""
        results = [future.result() for future in unit.futures]
        answers = [
            self._answer(job, result) for job, result in zip(unit.jobs, results, strict=True)
        ]
        ledger.record_results(self.con, answers, self.now())
        self._after_unit(unit.batch_id, unit.jobs, results)

    def _batch_for(self, unit: list[_Job]) -> str | None:
        """The open batch of attempts in doubt (an outage) if it can take the unit, else a new
        one."""
        send_at = unit[0].attempt.send_at
        batch = self.batches.get(self.doubt_batch or "")
        if batch is not None and send_at is not None:
            first = min(batch.first_send_at, send_at)
            if self.now() < first - 2 * self.backend.cancel_cutoff:
                batch.first_send_at = first
                return self.doubt_batch
        self.doubt_batch = None
        batch_id = self.backend.open_batch(self.retry)
        if batch_id is not None and send_at is not None:
            self.batches[batch_id] = _BatchState(send_at)
        return batch_id

    def _attempt(self, job: _Job, probe: bool) -> SendResult | None:
        """One request, on a worker; None when an outage began before its turn."""
        if self._halt.is_set() and not probe:
            return None
        result = self.backend.send(job.email, job.attempt)
        with self._lock:
            if result.status in (SendStatus.ACCEPTED, SendStatus.REJECTED) or result.rate_limited:
                self._failures_in_a_row = 0  # the provider answers
            elif result.status in (SendStatus.IN_DOUBT, SendStatus.RETRY):
                self._failures_in_a_row += 1
                self._last_failure = result.reason or result.status.value
                if self._failures_in_a_row >= self.policy.outage_after:
                    self._halt.set()
        return result

    def _answer(self, job: _Job, result: SendResult | None) -> AttemptResult:
        """The ledger's record of an attempt's answer, and what happens to the message."""
        key, attempt = job.email.send_key, job.attempt
        if result is None:
            job.attempts -= 1
            self._requeue(job, 0.0)
            reason = "not attempted yet: the provider is failing"
            return AttemptResult(
                key, attempt.batch_id, "failed", "transient", error=reason, made=False
            )
        if self.outage_since is None:  # the rate of a working provider, not of an outage
            in_doubt = result.status is SendStatus.IN_DOUBT
            self.requests_made += 1
            self.answers_in_doubt += in_doubt
            self.streak_in_doubt = self.streak_in_doubt + 1 if in_doubt else 0
        if result.status is SendStatus.ACCEPTED:
            logger.debug(
                "send_key=%s status=accepted attempts=%d batch=%s provider_message_id=%s",
                key,
                job.attempts,
                attempt.batch_id,
                result.provider_message_id,
            )
            self.report.outcomes.append(
                MessageOutcome(
                    key,
                    "accepted",
                    job.attempts,
                    result.provider_message_id,
                    None,
                    job.after_cancel,
                    job.after_no_event,
                )
            )
            return AttemptResult(
                key, attempt.batch_id, "accepted", provider_message_id=result.provider_message_id
            )
        reason = scrub(result.reason or result.status.value)
        if result.status is SendStatus.IN_DOUBT:
            self.parked[key] = f"attempt in doubt (batch {attempt.batch_id}): {reason}"
            logger.warning(
                "send_key=%s attempt %d in doubt (batch %s): %s; parked",
                key,
                job.attempts,
                attempt.batch_id,
                reason,
            )
            return AttemptResult(key, attempt.batch_id, "in_doubt", error=self.parked[key])
        if result.status is SendStatus.REJECTED:
            return self._failed(job, "rejected", reason)
        if result.status is SendStatus.REFUSED_CREDENTIALS:
            self._abort(reason)
            return self._failed(job, "transient", reason)
        # RETRY: not taken (429, connection refused, expired before it was made)
        final = self._retry_later(job, reason, result.retry_at, counted=not result.rate_limited)
        if final is not None:
            return final
        return AttemptResult(key, attempt.batch_id, "failed", "transient", error=reason)

    def _failed(self, job: _Job, kind: ledger.FailureKind, reason: str) -> AttemptResult:
        key = job.email.send_key
        logger.error("send_key=%s status=failed kind=%s: %s", key, kind, reason)
        self.report.outcomes.append(
            MessageOutcome(
                key, "failed", job.attempts, error=reason, resent_after_cancel=job.after_cancel
            )
        )
        return AttemptResult(key, job.attempt.batch_id, "failed", kind, error=reason)

    def _retry_later(
        self,
        job: _Job,
        reason: str,
        retry_at: float | None,
        *,
        counted: bool = True,
        pending: bool = True,
    ) -> AttemptResult | None:
        """Queue the message for another try, or give up on it: returns its final answer
        for a `pending` attempt, else records it here."""
        job.last_reason = reason
        if counted and self.outage_since is None:
            job.tries += 1
        if job.tries >= self.retry.max_attempts:
            reason = f"gave up after {job.tries} tries: {reason}"
            if not pending:  # no attempt of this try is in the ledger
                ledger.record_not_sent(
                    self.con, [job.email], self.backend.name, "transient", reason, self.now()
                )
                self.report.outcomes.append(
                    MessageOutcome(job.email.send_key, "failed", job.attempts, error=reason)
                )
                logger.error(
                    "send_key=%s status=failed kind=transient: %s", job.email.send_key, reason
                )
                return None
            return self._failed(job, "transient", reason)
        if retry_at is not None:
            delay = self.retry.until_reset(retry_at)
        else:
            delay = self.retry.backoff(max(job.tries, 1))
        self._requeue(job, delay)
        return None

    def _requeue(self, job: _Job, delay: float) -> None:
        entry = (time.monotonic() + delay, next(self._order), job)
        heapq.heappush(self.waiting, entry)

    def _after_unit(
        self, batch_id: str | None, jobs: Sequence[_Job], results: Sequence[SendResult | None]
    ) -> None:
        """Keep count of the batch, and of the provider's health."""
        batch = self.batches.get(batch_id or "")
        if batch is not None:
            batch.accepted += sum(
                r is not None and r.status is SendStatus.ACCEPTED for r in results
            )
            batch.in_doubt += sum(
                r is not None and r.status is SendStatus.IN_DOUBT for r in results
            )
            # A batch with only attempts in doubt takes the next units (an outage then needs
            # one cancel); once it holds an accepted message it is closed.
            if batch.in_doubt and not batch.accepted:
                self.doubt_batch = batch_id
            elif self.doubt_batch == batch_id:
                self.doubt_batch = None
        with self._lock:
            failing = self._failures_in_a_row >= self.policy.outage_after
        if self._halt.is_set() and not failing and self.report.aborted is None:
            self._halt.clear()  # answers came back after the failures: no outage
        if self._halt.is_set() and self.outage_since is None:
            # the failures that made the outage are not the working provider's rate
            self.requests_made -= self.streak_in_doubt
            self.answers_in_doubt -= self.streak_in_doubt
            self.outage_since = time.monotonic()
            self.outage_probes = 0
            self.report.outage = self._outage_text()
            logger.error("send: %s; holding the other e-mails and probing", self.report.outage)
        elif self.outage_since is not None and any(
            r is not None and r.status is SendStatus.ACCEPTED for r in results
        ):
            lasted = time.monotonic() - self.outage_since
            logger.warning("send: the provider answers again after %.0fs; sending resumes", lasted)
            self.report.outage = f"the provider failed for {lasted:.0f}s, then answered again"
            self.outage_since = None
            with self._lock:
                self._failures_in_a_row = 0
            self._halt.clear()

    # --- outages --------------------------------------------------------------------------

    def _provider_failed(self, reason: str) -> None:
        """A failure outside a worker (e.g. no batch id could be created)."""
        with self._lock:
            self._failures_in_a_row += self.retry.max_attempts  # the backend retried already
            self._last_failure = reason
            if self._failures_in_a_row >= self.policy.outage_after:
                self._halt.set()
        self._after_unit(None, [], [])

    def _outage_text(self) -> str:
        waiting = len(self.ready) + len(self.waiting)
        return (
            f"the provider failed {self._failures_in_a_row} requests in a row (last: "
            f"{self._last_failure}); {waiting} e-mail(s) held, {len(self.parked)} in doubt"
        )

    def _wait_before_probe(self) -> None:
        self.outage_probes += 1
        delay = min(self.retry.backoff(self.outage_probes + 1), self._patience_left())
        logger.warning(
            "send: provider still failing (%s); probe %d in %.1fs",
            self._last_failure,
            self.outage_probes,
            delay,
        )
        time.sleep(max(0.0, delay))

    def _patience_left(self) -> float:
        if self.outage_since is None:
            return self.policy.outage_patience
        return self.policy.outage_patience - (time.monotonic() - self.outage_since)

    def _outage_over_patience(self) -> bool:
        if self.outage_since is None or self._patience_left() > 0:
            return False
        self.report.outage = (
            f"{self._outage_text()}; gave up after {self.policy.outage_patience:.0f}s"
        )
        logger.error("send: %s", self.report.outage)
        return True

    def _abort(self, reason: str) -> None:
        if self.report.aborted is None:
            self.report.aborted = reason
            self._halt.set()
            logger.error("send: aborting the run: %s", reason)

    # --- settling attempts in doubt -------------------------------------------------------

    def _settle_cancels(self) -> list[str]:
        """Cancels asked for by an earlier run whose answer was never recorded. Returns the
        send_keys their batches withdrew (`_plan` queues them)."""
        withdrawn: list[str] = []
        if not self.backend.cancels_batches:
            return withdrawn
        for batch in ledger.fetch_batches(self.con, ["cancelling"]).values():
            if batch.first_send_at is None:
                continue
            withdrawal = self.backend.cancel_batch(batch.batch_id, batch.first_send_at, self.retry)
            members = ledger.batch_members(self.con, [batch.batch_id])[batch.batch_id]
            keys = [row.send_key for row in members]
            withdrawn += self._record_cancel(
                batch.batch_id, withdrawal.status, withdrawal.reason, keys, queue=False
            )
        return withdrawn

    def _settle_doubt(self) -> dict[str, str]:
        """Settle every attempt in doubt in the ledger that can be settled without a cancel:
        its batch is cancelled, or the provider's events tell, or nothing ever will. Returns
        the send_keys withdrawn (to send again) with the cause: cancelled | no_event |
        nothing_in_flight."""
        rows = ledger.rows_in_doubt(self.con)
        if not rows:
            return {}
        log: EventLog = self.events.read(self.con, [row.send_key for row in rows])
        cancelled = ledger.fetch_batches(self.con, ["cancelled"])
        now = self.now()
        confirmed: list[tuple[str, datetime, str | None]] = []
        withdrawn: dict[str, tuple[str, str]] = {}
        unresolved: dict[str, str] = {}
        for row in rows:
            verdict = self._verdict(row, log, cancelled, now)
            if verdict is None:
                continue
            cause, reason = verdict
            if cause == "confirmed":
                event = log.taken_since(row.send_key, row.last_attempt_at)
                confirmed.append((row.send_key, event.event_at, event.sg_message_id))
                self.confirmed.add(row.send_key)
                logger.info("send_key=%s was in doubt: %s", row.send_key, reason)
            elif cause == "unresolved":
                unresolved[row.send_key] = reason
                logger.error("send_key=%s status=failed kind=unresolved: %s", row.send_key, reason)
            else:
                withdrawn[row.send_key] = (cause, reason)
                logger.warning("send_key=%s was in doubt: %s", row.send_key, reason)
        ledger.confirm_delivered(self.con, confirmed, now)
        ledger.settle_rows(
            self.con, list(withdrawn), "transient", [r for _, r in withdrawn.values()], now
        )
        ledger.settle_rows(self.con, list(unresolved), "unresolved", list(unresolved.values()), now)
        settled = Counter(cause for cause, _ in withdrawn.values())
        settled.update(confirmed_by_events=len(confirmed), unresolved=len(unresolved))
        self.report.settled.update(+settled)
        for key, reason in unresolved.items():
            if key in self.emails:
                self.report.outcomes.append(MessageOutcome(key, "failed", error=reason))
                self.decided.add(key)
            else:
                self.report.unresolved_elsewhere[key] = reason
        for key, (cause, reason) in withdrawn.items():
            if key not in self.emails and cause != "nothing_in_flight":
                self.report.withdrawn_elsewhere[key] = reason
        return {key: cause for key, (cause, _) in withdrawn.items()}

    def _verdict(
        self,
        row: LedgerRow,
        log: EventLog,
        cancelled: dict[str, ledger.BatchRow],
        now: datetime,
    ) -> tuple[str, str] | None:
        """How one attempt in doubt is settled now, if it can be: (cause, reason)."""
        if row.backend not in DELIVERING_BACKENDS:
            return "nothing_in_flight", f"the {row.backend} attempt cannot have delivered"
        if row.batch_id is not None and row.batch_id in cancelled:
            return "cancelled", f"withdrawn: its batch {row.batch_id} is cancelled"
        event = log.taken_since(row.send_key, row.last_attempt_at)
        if event is not None:
            return "confirmed", (
                f"delivered: the provider's {event.event_type} event at "
                f"{event.event_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        send_at = row.send_at or row.last_attempt_at
        if send_at is None:
            return "unresolved", "an attempt in doubt with no recorded time"
        settle = self.policy.event_settle
        if now >= send_at + settle and log.reached(send_at + settle):
            return "no_event", (
                f"withdrawn: no provider event for its send_key (events received until "
                f"{log.received_until:%Y-%m-%d %H:%M} UTC, {settle} past its send_at): not "
                "delivered; a run that has it due sends it again"
            )
        if now >= send_at + self.policy.give_up_after:
            return "unresolved", (
                f"in doubt since {send_at:%Y-%m-%d %H:%M:%S} UTC (batch {row.batch_id}): too "
                "late to cancel and no provider events past its send_at; check the provider's "
                f"activity for send_key {row.send_key}"
            )
        return None

    def _cancel_parked(self) -> bool:
        """Cancel the batches of parked attempts where it is allowed and worth a slot; the
        messages they withdraw are queued again. Returns whether any were."""
        if not self.backend.cancels_batches or self.cancel_refused or not self.parked:
            return False
        doubt = [
            row for row in ledger.rows_in_doubt(self.con) if row.backend in DELIVERING_BACKENDS
        ]
        taken = ledger.fetch_batches(self.con, ["cancelled", "cancelling"])
        batch_ids = {row.batch_id for row in doubt if row.batch_id and row.batch_id not in taken}
        members = ledger.batch_members(self.con, batch_ids)
        now = self.now()
        candidates = []
        for batch_id, rows in members.items():
            send_ats = [row.send_at for row in rows if row.send_at is not None]
            if not rows or not send_ats or any(row.send_key not in self.emails for row in rows):
                continue  # a message of another run could not be sent again now
            first = min(send_ats)
            if now >= first - self.backend.cancel_cutoff:
                continue
            in_doubt = sum(row.in_doubt for row in rows)
            accepted = len(rows) - in_doubt
            # Worth a slot only if it settles more e-mails than sending the batch again is
            # expected to put in doubt, at the rate seen in this run.
            if accepted and in_doubt <= len(rows) * self._doubt_rate():
                continue
            candidates.append((accepted > in_doubt, accepted, first, batch_id, rows))
        candidates.sort(key=lambda c: c[:3])
        free = self.policy.cancel_slots - ledger.cancel_slots_in_use(self.con, now)
        requeued = False
        for mostly_accepted, _, first, batch_id, rows in candidates:
            if free <= 0 or self.cancel_refused:
                break
            if mostly_accepted and free <= self.policy.reserved_slots:
                continue
            ledger.record_cancel_requested(self.con, batch_id, self.backend.name, rows, self.now())
            withdrawal = self.backend.cancel_batch(batch_id, first, self.retry)
            free -= withdrawal.status in (WithdrawStatus.CANCELLED, WithdrawStatus.UNDETERMINED)
            keys = [row.send_key for row in rows]
            withdrawn = self._record_cancel(batch_id, withdrawal.status, withdrawal.reason, keys)
            requeued |= any(key in self.emails for key in withdrawn)
        return requeued

    def _doubt_rate(self) -> float:
        """The share of this run's requests that ended in doubt (over at least a batch's
        worth of requests: a few early answers say little)."""
        return self.answers_in_doubt / max(self.requests_made, self.policy.batch_size)

    def _record_cancel(
        self,
        batch_id: str,
        status: WithdrawStatus,
        reason: str | None,
        members: Sequence[str],
        *,
        queue: bool = True,
    ) -> list[str]:
        """Record a cancel's answer, and return the send_keys it withdrew. A cancelled
        batch's messages are queued again (`queue`); while a cancel is unconfirmed, its
        messages count as in doubt."""
        reason = scrub(reason) if reason else None
        self.batches.pop(batch_id, None)  # never reused: it is (maybe) cancelled, or too late
        if self.doubt_batch == batch_id:
            self.doubt_batch = None
        if status is WithdrawStatus.UNDETERMINED:
            logger.error("send: cancel of batch %s not confirmed: %s", batch_id, reason)
            ledger.record_cancel_answer(self.con, batch_id, "cancelling", reason, self.now())
            noted = {}
            for key in members:
                if key in self.parked:
                    self.parked[key] = noted[key] = (
                        f"{self.parked[key]}; cancel of its batch not confirmed: {reason}"
                    )
                elif key in self.emails:  # accepted, but the cancel may have been carried out
                    self._drop_outcome(key)
                    self.parked[key] = f"a cancel of its batch {batch_id} is not confirmed"
            ledger.record_doubt_reasons(self.con, noted, self.now())
            return []
        answer = {
            WithdrawStatus.CANCELLED: "cancelled",
            WithdrawStatus.TOO_LATE: "kept",
            WithdrawStatus.REFUSED: "refused",
        }[status]
        withdrawn = ledger.record_cancel_answer(self.con, batch_id, answer, reason, self.now())
        if status is not WithdrawStatus.CANCELLED:
            noted = {}
            for key in members:
                if key in self.parked:
                    self.parked[key] = noted[key] = (
                        f"{self.parked[key]}; cancel of its batch {answer}: {reason}"
                    )
            ledger.record_doubt_reasons(self.con, noted, self.now())
        if status is WithdrawStatus.REFUSED:
            self.cancel_refused = True
            logger.warning(
                "send: cancel of batch %s refused (%s); no more cancels this run", batch_id, reason
            )
            return []
        if status is not WithdrawStatus.CANCELLED:
            return []
        self.report.cancelled_batches += 1
        logger.warning(
            "send: batch %s cancelled to settle attempts in doubt; %d message(s) withdrawn",
            batch_id,
            len(withdrawn),
        )
        for key in withdrawn:
            self.parked.pop(key, None)
            self._drop_outcome(key)
            email = self.emails.get(key)
            if email is None or not queue:
                continue
            job = self._new_job(email)
            if job is not None:
                job.after_cancel = True
                self.ready.append(job)
        return withdrawn

    def _drop_outcome(self, key: str) -> None:
        """A message withdrawn after this run counted it (accepted, or already sent) is
        sent again: its outcome is the one of its new attempt."""
        self.report.outcomes = [
            o
            for o in self.report.outcomes
            if o.send_key != key or o.status not in ("accepted", "already_sent", "confirmed")
        ]
