"""Send rendered e-mails exactly once, recording every attempt in the send ledger.

Worker threads make the provider calls; the thread that called `send_emails` owns the DuckDB
connection and makes every ledger write, committing the writes that wait together. A worker
asks for a write and waits until it is committed, so the order per message is always: ledger
`pending` (attempt n, its batch id) → provider call → ledger `accepted` / error. After a
crash, a row still `pending` is an attempt in doubt: it is withdrawn (its batch cancelled)
before the message is sent again, or, if its cancel window has passed, it is never sent
again and marked failed for an operator.
See docs/sending.md.
"""

import logging
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal, TypeVar

import duckdb

from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending import ledger
from orchestration.emails.sending.backend import (
    Attempt,
    AttemptUnavailable,
    DeliveryTooFarAhead,
    SendBackend,
    SendStatus,
    WithdrawStatus,
)
from orchestration.emails.sending.ledger import LedgerRow, utc_now
from orchestration.emails.sending.redaction import scrub
from orchestration.emails.sending.retry import RetryPolicy

logger = logging.getLogger(__name__)

T = TypeVar("T")

OutcomeStatus = Literal[
    "accepted",  # handed over in this run
    "already_sent",  # accepted by an earlier run: skipped
    "failed",  # failed in this run (reason in `error` and in the ledger)
    "previously_failed",  # failed for good in an earlier run (rejected or unresolved): skipped
    "in_doubt",  # an attempt may be in flight and could not be resolved now: a re-run will
    "duplicate",  # the same send_key appeared earlier in this run's input
    "not_attempted",  # the run was aborted before this message's turn
    "deferred",  # its delivery window is too far ahead to schedule now: a later run sends it
]


@dataclass(frozen=True)
class MessageOutcome:
    send_key: str
    status: OutcomeStatus
    attempts: int = 0  # send attempts made in this run
    provider_message_id: str | None = None
    error: str | None = None
    resent_after_cancel: bool = False  # sent again after cancelling an attempt in doubt


@dataclass
class SendReport:
    backend: str
    outcomes: list[MessageOutcome] = field(default_factory=list)
    aborted: str | None = None

    def count(self, status: OutcomeStatus) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    @property
    def already_sent(self) -> int:
        return self.count("already_sent")

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
    def deferred(self) -> int:
        return self.count("deferred")

    @property
    def resent_after_cancel(self) -> int:
        """Accepted in this run after an earlier attempt's batch was cancelled."""
        return sum(o.status == "accepted" and o.resent_after_cancel for o in self.outcomes)

    def by_key(self) -> dict[str, MessageOutcome]:
        return {outcome.send_key: outcome for outcome in self.outcomes}

    def summary(self) -> str:
        counts = Counter(outcome.status for outcome in self.outcomes)
        parts = [f"{counts[status]} {status.replace('_', ' ')}" for status in sorted(counts)]
        text = f"{self.backend}: " + (", ".join(parts) or "nothing to send")
        if self.resent_after_cancel:
            text += f" ({self.resent_after_cancel} re-sent after cancelling an attempt in doubt)"
        if self.aborted:
            text += f"; aborted: {self.aborted}"
        return text


class SendingAborted(RuntimeError):
    """The provider refused the credentials: nothing else would succeed. Carries the report."""

    def __init__(self, reason: str, report: SendReport) -> None:
        super().__init__(f"sending aborted: {reason}")
        self.reason = reason
        self.report = report


class _RunStopped(Exception):
    """Raised in a worker when the run is being torn down."""


def send_emails(
    con: duckdb.DuckDBPyConnection,
    emails: Iterable[RenderedEmail],
    backend: SendBackend,
    *,
    max_workers: int = 8,
    retry: RetryPolicy | None = None,
    chunk_size: int = 500,
) -> SendReport:
    """Send each e-mail at most once ever, and each due one exactly once.

    `con` is the warehouse connection (autocommit; the ledger must exist, see
    `ensure_send_ledger`). It is used from this thread only, so `emails` must not be a lazy
    cursor on it. Raises `SendingAborted` when the provider refuses the API key, after
    recording what was done.
    """
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    run = _Run(con, backend, retry or RetryPolicy(), max_workers)
    report = run.run(iter(emails), chunk_size)
    logger.info("send: %s", report.summary())
    if report.aborted:
        raise SendingAborted(report.aborted, report)
    return report


class _Run:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        backend: SendBackend,
        retry: RetryPolicy,
        max_workers: int,
    ) -> None:
        self.con = con
        self.backend = backend
        self.retry = retry
        self.max_workers = max_workers
        # Ledger writes asked for by workers, and wake-ups when a worker finishes.
        self._requests: queue.SimpleQueue[tuple[Callable[..., Any], tuple, Future] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._abort_reason: str | None = None

    # --- main thread ----------------------------------------------------------------

    def run(self, emails: Iterator[RenderedEmail], chunk_size: int) -> SendReport:
        report = SendReport(backend=self.backend.name)
        seen: set[str] = set()
        ready: deque[tuple[RenderedEmail, LedgerRow | None]] = deque()
        in_flight: dict[Future, str] = {}
        failures: list[BaseException] = []
        exhausted = False
        pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="flywheel-send")
        try:
            while True:
                while len(in_flight) < self.max_workers and self._abort_reason is None:
                    if not ready:
                        chunk = [] if exhausted else list(islice(emails, chunk_size))
                        if not chunk:
                            exhausted = True
                            break
                        ready.extend(self._plan(chunk, seen, report))
                        continue
                    email, row = ready.popleft()
                    future = pool.submit(self._deliver, email, row)
                    in_flight[future] = email.send_key
                    future.add_done_callback(lambda _: self._requests.put(None))
                if not in_flight:
                    if exhausted or self._abort_reason is not None:
                        break
                    continue
                item = self._requests.get()
                if item is not None:
                    self._serve([item, *self._queued_writes()])
                for future in [future for future in in_flight if future.done()]:
                    send_key = in_flight.pop(future)
                    try:
                        report.outcomes.append(future.result())
                    except Exception as exc:  # a bug: the ledger row stays as it was
                        logger.error(
                            "send_key=%s: unexpected %s while sending", send_key, type(exc).__name__
                        )
                        failures.append(exc)
        except BaseException:
            self._stop()
            raise
        finally:
            self._stop()
            pool.shutdown(wait=True, cancel_futures=True)
        if self._abort_reason is not None:
            report.aborted = self._abort_reason
            left = [email for email, _ in ready] + list(emails)
            report.outcomes.extend(
                MessageOutcome(email.send_key, "not_attempted", error="run aborted")
                for email in left
            )
        if failures:
            raise failures[0]
        return report

    def _plan(
        self, chunk: list[RenderedEmail], seen: set[str], report: SendReport
    ) -> Iterator[tuple[RenderedEmail, LedgerRow | None]]:
        """Which e-mails of a chunk need work, given their ledger rows."""
        rows = ledger.fetch_rows(self.con, {email.send_key for email in chunk})
        for email in chunk:
            key = email.send_key
            if key in seen:
                report.outcomes.append(MessageOutcome(key, "duplicate"))
                continue
            seen.add(key)
            row = rows.get(key)
            if row is not None and row.status == "accepted":
                report.outcomes.append(
                    MessageOutcome(key, "already_sent", provider_message_id=row.provider_message_id)
                )
            elif row is not None and row.status == "failed" and row.failure_kind != "transient":
                report.outcomes.append(MessageOutcome(key, "previously_failed", error=row.error))
            else:
                yield email, row

    def _queued_writes(self) -> list[tuple[Callable[..., Any], tuple, Future]]:
        """The writes other workers asked for meanwhile (wake-ups are dropped: the loop
        looks at every finished future anyway)."""
        writes = []
        while True:
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                return writes
            if item is not None:
                writes.append(item)

    def _serve(self, writes: list[tuple[Callable[..., Any], tuple, Future]]) -> None:
        """Commit the waiting workers' ledger writes together (a group commit: one disk
        flush for all of them); each worker goes on only once its write is committed."""
        writes = [write for write in writes if write[2].set_running_or_notify_cancel()]
        if not writes:
            return
        now = utc_now()
        self.con.execute("begin transaction")
        try:
            results = [write(self.con, *args, now) for write, args, _ in writes]
            self.con.execute("commit")
        except BaseException as exc:
            self.con.execute("rollback")
            for _, _, done in writes:
                done.set_exception(exc)
            raise
        for (_, _, done), result in zip(writes, results, strict=True):
            done.set_result(result)

    def _stop(self) -> None:
        """Fail every write still queued; workers then stop at their next ledger write."""
        with self._lock:
            self._stopping.set()
        while True:
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[2].set_exception(_RunStopped())

    # --- worker threads -----------------------------------------------------------------

    def _on_main(self, write: Callable[..., T], *args: Any) -> T:
        """`write(con, *args, now)` on the main thread; returns once it is committed."""
        done: Future = Future()
        with self._lock:
            if self._stopping.is_set():
                raise _RunStopped()
            self._requests.put((write, args, done))
        return done.result()

    def _abort(self, reason: str) -> None:
        with self._lock:
            if self._abort_reason is None:
                self._abort_reason = reason
                logger.error("send: aborting the run: %s", reason)

    def _sleep(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise _RunStopped()

    def _deliver(self, email: RenderedEmail, row: LedgerRow | None) -> MessageOutcome:
        """One message, from its ledger row to a final outcome (runs on a worker)."""
        key = email.send_key
        name = self.backend.name
        in_doubt: Attempt | None = None
        if row is not None and row.status == "pending":
            in_doubt = row.attempt
        attempts = 0
        after_cancel = resent = False
        last_reason = "no attempt made"
        delay = 0.0

        def failed(kind: ledger.FailureKind, error: str, backend: str = name) -> MessageOutcome:
            error = scrub(error)
            self._on_main(ledger.record_failed, email, backend, kind, error)
            logger.error("send_key=%s status=failed kind=%s: %s", key, kind, error)
            return MessageOutcome(key, "failed", attempts, error=error, resent_after_cancel=resent)

        while True:
            if in_doubt is not None:
                withdrawal = self.backend.withdraw(in_doubt, self.retry)
                if withdrawal.status is WithdrawStatus.TOO_LATE:
                    return failed(
                        "unresolved",
                        "in-flight request past its cancel window: not re-sent; check the "
                        f"provider's activity for send_key {key} (batch {in_doubt.batch_id}, "
                        f"send_at {in_doubt.send_at:%Y-%m-%d %H:%M:%S} UTC)",
                        backend=in_doubt.backend,
                    )
                if withdrawal.status is WithdrawStatus.UNDETERMINED:
                    error = scrub(
                        f"attempt in doubt (batch {in_doubt.batch_id}) not resolved: "
                        f"{withdrawal.reason}; a re-run resolves it while its cancel window "
                        "is open"
                    )
                    self._on_main(ledger.record_error, key, error)
                    logger.error("send_key=%s status=pending (in doubt): %s", key, error)
                    return MessageOutcome(key, "in_doubt", attempts, error=error)
                if withdrawal.status is WithdrawStatus.CANCELLED:
                    logger.warning(
                        "send_key=%s: batch %s of the attempt in doubt is cancelled",
                        key,
                        in_doubt.batch_id,
                    )
                    after_cancel = True
                in_doubt = None

            if attempts >= self.retry.max_attempts:
                return failed("transient", f"gave up after {attempts} attempts: {last_reason}")
            if self._abort_reason is not None:
                return MessageOutcome(key, "not_attempted", attempts, error="run aborted")
            self._sleep(delay)

            try:
                attempt = self.backend.new_attempt(self.retry, email.delivery)
            except DeliveryTooFarAhead as exc:
                if after_cancel:
                    # A pending row whose batch is cancelled would look in doubt to a later
                    # run, and past its window unresolved: record that nothing is in flight.
                    failed("transient", f"attempt in doubt cancelled; {exc}: a later run sends it")
                logger.info("send_key=%s deferred: %s", key, exc)
                return MessageOutcome(key, "deferred", attempts, error=str(exc))
            except AttemptUnavailable as exc:
                if exc.credentials_refused:
                    self._abort(exc.reason)
                return failed("transient", exc.reason)
            self._on_main(ledger.record_pending, email, attempt)
            attempts += 1
            resent = resent or after_cancel
            result = self.backend.send(email, attempt)
            reason = scrub(result.reason or result.status.value)

            if result.status is SendStatus.ACCEPTED:
                message_id = result.provider_message_id
                self._on_main(ledger.record_accepted, key, attempt, message_id)
                logger.info(
                    "send_key=%s status=accepted attempts=%d batch=%s provider_message_id=%s",
                    key,
                    attempts,
                    attempt.batch_id,
                    message_id,
                )
                return MessageOutcome(key, "accepted", attempts, message_id, None, resent)
            if result.status is SendStatus.REJECTED:
                return failed("rejected", reason)
            if result.status is SendStatus.REFUSED_CREDENTIALS:
                self._abort(reason)
                return failed("transient", reason)

            # RETRY (not taken) or IN_DOUBT (maybe taken: withdrawn at the top of the loop).
            if result.status is SendStatus.IN_DOUBT:
                in_doubt = attempt
            last_reason = reason
            self._on_main(ledger.record_error, key, reason)
            if result.retry_at is not None:
                delay = self.retry.until_reset(result.retry_at)
            else:
                delay = self.retry.backoff(attempts)
            logger.warning(
                "send_key=%s attempt %d %s: %s; next try in %.2fs",
                key,
                attempts,
                result.status.value,
                reason,
                delay,
            )
