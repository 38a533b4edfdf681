"""The prediction log: every scored record becomes a row, written off the request path.

`record` gives each record its prediction id and queues it; one thread writes the queue in
batches. While the database is away, rows wait in memory, up to PREDICTION_LOG_MAX_PENDING (more
are dropped: counted in /metrics and logged, never silently), and are written once it is back. A
row the database refuses (a constraint, say) is logged with its request id and dropped; the
writer goes on. `stop` writes what is left (within its timeout, while the database answers), so a
graceful shutdown (SIGTERM) loses nothing.

Serving comes first: while the rest of the worker keeps a CPU busy (requests), the writer works in
small transactions and takes at most WRITER_SHARE of a CPU; between them it waits, and the
requests have the interpreter to themselves. Rows coming faster wait in the queue until the load
eases. Otherwise it writes at full speed: when the worker is idle, when a flush or a shutdown
waits for it, and from hold_back_below rows waiting (half the bound above, at most), so that
holding back does not by itself fill the queue.

Personal fields (the model package's PERSONAL_FIELDS) are stored as a keyed hash, or not at all
(PERSONAL_DATA). Rows older than PREDICTION_LOG_RETENTION_DAYS are deleted every hour.
"""

import hmac
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger
from pydantic import TypeAdapter
from pydantic_core import from_json
from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from {{ cookiecutter.package_name }} import PERSONAL_FIELDS, InputRecord, model_features

from app.config import Settings
from app.db import predictions
from app.metrics import Metrics

RECORD_LIST = TypeAdapter(list[InputRecord])  # turns the validated records into JSON
BATCH_ROWS = 5_000  # rows per transaction
INSERT_ROWS = 250  # rows per INSERT, made just before it; also the most per Pending
BUSY_BATCH_ROWS = INSERT_ROWS  # rows per transaction while the worker is busy
WRITER_SHARE = 0.1  # the writer's most CPU while the worker is busy
BUSY_LOAD = 0.5  # "busy": the rest of the worker used this share of a CPU while the writer gathered
MAX_PAUSE_SECONDS = 1.0  # the longest wait between two transactions
GATHER_SECONDS = 0.05  # a pause before writing, so that a burst of requests is one transaction
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # between attempts while the database is away
PURGE_EVERY_SECONDS = 3600
OVERFLOW_REPORT_SECONDS = 10  # an overflow is logged at most this often, with the rows dropped


def issued_at(prediction_id: str) -> float | None:
    """When an id of ours was issued (its first 12 hex digits are the Unix time in ms)."""
    stamp = prediction_id[:12]
    if len(prediction_id) < 34 or any(digit not in "0123456789abcdef" for digit in stamp):
        return None
    return int(stamp, 16) / 1000


@dataclass
class Pending:
    """Rows of one request, at most INSERT_ROWS of them, as the route handed them over (turned
    into rows on the thread)."""

    ids: list[str]
    request_id: str
    created_at: datetime
    model_version: str
    # The records as a JSON array: a sixth of the memory of the validated records, which can
    # wait here long after their request (a burst, or the database away), and nothing for the
    # cyclic garbage collector to walk.
    inputs: bytes
    labels: Sequence[str | None]
    probabilities: Sequence[dict[str, float] | None]
    latency_ms: float


class PredictionLog:
    def __init__(self, engine: Engine, settings: Settings, metrics: Metrics) -> None:
        self.engine = engine
        self.metrics = metrics
        self.enabled = settings.prediction_log
        self.max_pending = settings.prediction_log_max_pending
        # The writer holds back only below this many rows waiting: half the bound at most, and
        # room left for the largest request.
        self.hold_back_below = min(
            self.max_pending // 2, self.max_pending - settings.max_batch_size
        )
        self.retention_days = settings.prediction_log_retention_days
        self.personal_data = settings.personal_data
        if settings.personal_data_key is not None:
            self.key = settings.personal_data_key.get_secret_value().encode()
        else:
            self.key = secrets.token_bytes(32)
            if PERSONAL_FIELDS and self.personal_data == "hash":
                logger.warning(
                    "PERSONAL_DATA_KEY is not set: {} are hashed with a key of this process only,"
                    " so equal values will not match across restarts or workers",
                    ", ".join(PERSONAL_FIELDS),
                )
        self.queue: deque[Pending] = deque()
        self.pending_rows = 0
        self.queued = 0  # rows accepted since start
        self.done = 0  # of those, rows written or dropped by the writer
        self.condition = threading.Condition()
        self.stopping = False
        self.running = False  # a writer thread runs, or was started and has not decided to end
        self.flushing = 0  # flushes waiting for the writer
        self.wake = threading.Event()  # ends a pause: set by a flush or a stop
        self.cpu_per_row = 50e-6  # the writer's CPU per row, as last measured: what a pause pays
        self.thread = threading.Thread(target=self.run, name="prediction-log", daemon=True)
        self.last_purge: float | None = None  # None: purge as soon as the writer starts
        self.last_overflow_report = -float(OVERFLOW_REPORT_SECONDS)
        self.dropped_unreported = 0

    def start(self) -> None:
        """Start the writer (again, after a stop: an app may live through several lifespans)."""
        with self.condition:
            self.stopping = False
            if self.running and self.thread.is_alive():
                return  # the writer of an earlier lifespan, still at it, goes on
            self.running = True
        self.thread = threading.Thread(target=self.run, name="prediction-log", daemon=True)
        self.thread.start()

    def record(
        self,
        request_id: str,
        model_version: str,
        records: Sequence[InputRecord],
        labels: Sequence[str | None],
        probabilities: Sequence[dict[str, float] | None],
        latency_ms: float,
    ) -> list[str]:
        """Queue a row per record; their prediction ids, in order. Never waits for the database."""
        base = f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"
        ids = [f"{base}-{index}" for index in range(len(records))]
        if not self.enabled:
            return ids  # PREDICTION_LOG=false: nothing is kept, so no outcome can be recorded
        if self.overflows(len(ids)):
            return ids
        # Made outside the lock: the writer never waits for it. The pending count can only fall
        # meanwhile (the route runs on the event loop, one request at a time).
        created_at = datetime.now(UTC)
        pieces = [
            Pending(
                ids[start : start + INSERT_ROWS],
                request_id,
                created_at,
                model_version,
                RECORD_LIST.dump_json(list(records[start : start + INSERT_ROWS])),
                labels[start : start + INSERT_ROWS],
                probabilities[start : start + INSERT_ROWS],
                latency_ms,
            )
            for start in range(0, len(ids), INSERT_ROWS)
        ]
        with self.condition:
            self.queue.extend(pieces)
            self.pending_rows += len(ids)
            if self.pending_rows >= self.hold_back_below:
                self.wake.set()  # a writer holding back goes at full speed from now on
            self.queued += len(ids)
            self.metrics.log_pending.inc(len(ids))
            self.condition.notify()
        return ids

    def overflows(self, count: int) -> bool:
        """Whether `count` more rows would pass PREDICTION_LOG_MAX_PENDING; if so, they are counted
        as dropped, and logged at most every OVERFLOW_REPORT_SECONDS."""
        with self.condition:
            if self.pending_rows + count <= self.max_pending:
                return False
            self.metrics.log_rows.labels("dropped_overflow").inc(count)
            self.dropped_unreported += count
            if time.monotonic() - self.last_overflow_report > OVERFLOW_REPORT_SECONDS:
                logger.error(
                    "Prediction log full ({} rows waiting, PREDICTION_LOG_MAX_PENDING={}): "
                    "{} rows dropped since the last report",
                    self.pending_rows,
                    self.max_pending,
                    self.dropped_unreported,
                )
                self.last_overflow_report = time.monotonic()
                self.dropped_unreported = 0
            return True

    def rows(self, batch: Sequence[Pending]) -> Iterator[dict[str, Any]]:
        """The rows of a batch of requests, made as they are inserted. The model's features are
        computed in one call for the whole batch: per request, that call would cost more than the
        rest of the row."""
        inputs = [from_json(pending.inputs) for pending in batch]
        features = model_features([record for records in inputs for record in records])
        positions = itertools.count()
        for pending, records in zip(batch, inputs, strict=True):
            answers = zip(pending.ids, records, pending.labels, pending.probabilities, strict=True)
            for record_id, record_inputs, label, probabilities in answers:
                at = next(positions)
                if label is None or probabilities is None:
                    continue  # the API only scores valid records: nothing to log
                for name in PERSONAL_FIELDS:
                    if self.personal_data == "drop":
                        record_inputs.pop(name, None)
                    elif record_inputs.get(name) is not None:
                        value = str(record_inputs[name]).encode()
                        digest = hmac.digest(self.key, value, "sha256")
                        record_inputs[name] = "hmac-sha256:" + digest.hex()
                yield {
                    "id": record_id,
                    "request_id": pending.request_id,
                    "created_at": pending.created_at,
                    "model_version": pending.model_version,
                    "inputs": record_inputs,
                    "features": {name: values[at] for name, values in features.items()},
                    "label": label,
                    "probabilities": probabilities,
                    "latency_ms": pending.latency_ms,
                }

    @staticmethod
    def clocks() -> tuple[float, float, float]:
        """Wall time, the process's CPU time and the calling thread's, for busy()."""
        return time.monotonic(), time.process_time(), time.thread_time()

    def busy(self, since: tuple[float, float, float]) -> bool:
        """Whether the writer should hold back: the rest of the worker used BUSY_LOAD of a CPU
        `since` (the writer's clocks), fewer than `hold_back_below` rows wait, and no flush or
        shutdown waits for the writer. Called by the writer thread only."""
        now, process, own = self.clocks()
        then, process_then, own_then = since
        others = (process - process_then) - (own - own_then)
        if others / max(now - then, 1e-3) < BUSY_LOAD or self.stopping or self.flushing:
            return False
        return self.pending_rows < self.hold_back_below

    def take(self) -> list[Pending]:
        """The first queued Pending (the rest of its batch is taken once busy() is known); empty
        after a minute without rows, or when stopping with none left."""
        with self.condition:
            if not self.queue and not self.stopping:
                self.condition.wait(timeout=60)
            return [self.queue.popleft()] if self.queue else []

    def may_end(self, leaving_rows: bool = False) -> bool:
        """Whether the writer thread ends now: stopping (no start() since) with no row queued, or
        `leaving_rows` queued. Decided under the lock, so that a start() either keeps this thread
        or starts another."""
        with self.condition:
            if self.stopping and (leaving_rows or not self.queue):
                self.running = False
            return not self.running

    def take_more(self, size: int, limit: int) -> list[Pending]:
        """More queued Pendings, while the batch (`size` rows so far) stays within `limit` rows."""
        with self.condition:
            more: list[Pending] = []
            while self.queue and size + len(self.queue[0].ids) <= limit:
                more.append(self.queue.popleft())
                size += len(more[-1].ids)
            return more

    def give_back(self, batch: list[Pending]) -> None:
        with self.condition:
            self.queue.extendleft(reversed(batch))

    def settle(self, batch: list[Pending], written: int, rejected: int) -> None:
        count = sum(len(pending.ids) for pending in batch)
        with self.condition:
            self.pending_rows -= count
            self.done += count
            self.condition.notify_all()
        self.metrics.log_pending.dec(count)
        self.metrics.log_rows.labels("written").inc(written)
        if rejected:
            self.metrics.log_rows.labels("dropped_rejected").inc(rejected)

    def pause_for_serving(self, cpu_seconds: float) -> None:
        """Wait long enough for `cpu_seconds` of writing to be WRITER_SHARE of the time (at most
        MAX_PAUSE_SECONDS); a flush or a stop ends the wait. The writer waits before it writes,
        so that even the start of a burst of requests gets the interpreter to itself."""
        with self.condition:
            if self.stopping or self.flushing:
                return
            self.wake.clear()
        self.wake.wait(min(cpu_seconds * (1 - WRITER_SHARE) / WRITER_SHARE, MAX_PAUSE_SECONDS))

    def run(self) -> None:
        attempt = 0
        while True:
            self.purge_if_due()
            batch = self.take()
            if not batch:
                if self.may_end():
                    return
                continue
            gathering = self.clocks()
            if not self.stopping:
                time.sleep(GATHER_SECONDS)  # let a burst of requests join this batch
            busy = self.busy(gathering)
            size = sum(len(pending.ids) for pending in batch)
            batch += self.take_more(size, BUSY_BATCH_ROWS if busy else BATCH_ROWS)
            if busy:
                size = sum(len(pending.ids) for pending in batch)
                self.pause_for_serving(size * self.cpu_per_row)
            cpu_started = time.thread_time()
            try:
                written = 0
                rows = self.rows(batch)
                with self.engine.begin() as connection:
                    while chunk := list(itertools.islice(rows, INSERT_ROWS)):
                        connection.execute(self.insert(), chunk)
                        written += len(chunk)
            except (OperationalError, InterfaceError) as error:
                self.give_back(batch)
                if attempt == 0:
                    logger.warning(
                        "Prediction log: the database is unreachable ({}); {} rows wait in memory "
                        "and will be written when it is back",
                        type(error).__name__,
                        self.pending_rows,
                    )
                if attempt >= len(RETRY_SECONDS) and self.may_end(leaving_rows=True):
                    logger.error(
                        "Prediction log: {} rows not written at shutdown: the database stayed away",
                        self.pending_rows,
                    )
                    return
                time.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
            except Exception:  # noqa: BLE001 - refused rows (a constraint, say): never fatal
                written = self.write_one_by_one(batch)
                self.settle(batch, written, sum(len(pending.ids) for pending in batch) - written)
            else:
                if attempt:
                    logger.info("Prediction log: the database is back; writing the waiting rows")
                attempt = 0
                self.settle(batch, written, 0)
                self.cpu_per_row = (time.thread_time() - cpu_started) / max(written, 1)

    def insert(self) -> Any:
        """INSERT that skips a row already there: a retry after a lost acknowledgement is
        harmless."""
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[self.engine.dialect.name]
        return dialect.insert(predictions).on_conflict_do_nothing(index_elements=["id"])

    def write_one_by_one(self, batch: list[Pending]) -> int:
        """A batch the database refused: write what it accepts, log what it does not."""
        written = 0
        for pending in batch:
            try:
                rows = list(self.rows([pending]))
            except Exception as error:  # noqa: BLE001 - logged with the request id, then dropped
                logger.bind(request_id=pending.request_id).error(
                    "Prediction log: rows not made: {}", error
                )
                continue
            for row in rows:
                try:
                    with self.engine.begin() as connection:
                        connection.execute(self.insert(), [row])
                    written += 1
                except Exception as error:  # noqa: BLE001 - logged with the request id, dropped
                    logger.bind(request_id=row["request_id"]).error(
                        "Prediction log: row {} refused by the database and dropped: {}",
                        row["id"],
                        str(error).splitlines()[0],
                    )
        return written

    def purge_if_due(self) -> None:
        if self.retention_days is None or (
            self.last_purge is not None and time.monotonic() - self.last_purge < PURGE_EVERY_SECONDS
        ):
            return
        self.last_purge = time.monotonic()
        cutoff = datetime.now(UTC) - timedelta(days=self.retention_days)
        try:
            with self.engine.begin() as connection:
                deleted = connection.execute(
                    delete(predictions).where(predictions.c.created_at < cutoff)
                ).rowcount
        except SQLAlchemyError as error:
            logger.warning("Prediction log: the retention purge failed: {}", error)
            return
        logger.info(
            "Prediction log: deleted {} rows older than {} days", deleted, self.retention_days
        )

    def flush(self, timeout: float) -> bool:
        """Wait until every row queued so far is written (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self.condition:
            target = self.queued
            self.flushing += 1  # the writer goes at full speed meanwhile
            self.wake.set()
            try:
                while self.done < target:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self.condition.wait(timeout=left)
            finally:
                self.flushing -= 1
        return True

    def stop(self, timeout: float = 30) -> None:
        """Write what is queued, then end the thread."""
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
            self.wake.set()
        if self.thread.is_alive():
            self.thread.join(timeout)
        if self.thread.is_alive():
            logger.error(
                "Prediction log: {} rows not written within {} s of the shutdown",
                self.pending_rows,
                timeout,
            )
