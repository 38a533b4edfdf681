"""The prediction log's queue and its writer thread.

`record` appends a request's rows to the spool (spool.py) and to a bounded queue, and returns at
once: the prediction is answered without waiting for the database. One thread per worker writes
the queue in transactions of at most BATCH_ROWS rows, and the spool lets go of rows once they are
committed. At most PREDICTION_LOG_MAX_PENDING rows wait; when that many do (the database slow or
away), a request waits up to ROOM_WAIT_SECONDS for room, then is refused with LogFullError (the API
answers 503 with Retry-After): a prediction is answered only once its row is safe. A row the
database refuses for good (REFUSED) is logged and dropped; any other failure is retried until it
passes, or until a shutdown, which leaves the rows in the spool for the next start.
"""

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from loguru import logger
from pydantic_core import from_json
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError

from app.config import Settings
from app.db import predictions
from app.metrics import ROWS_RECOVERED, ROWS_REFUSED, ROWS_WRITTEN, Metrics
from app.prediction_log.ids import new_ids
from app.prediction_log.personal_data import PersonalData
from app.prediction_log.retention import Retention
from app.prediction_log.rows import PIECE_ROWS, Answered, database_rows, spool_lines
from app.prediction_log.spool import Segment, Spool

BATCH_ROWS = 1_000  # rows per transaction, of whole pieces (rows.PIECE_ROWS each at most)
GATHER_SECONDS = 0.05  # the writer waits this long after the first row, so that rows form a batch
ROOM_WAIT_SECONDS = 2.0  # how long a request waits for room in a full queue before its 503
RETRY_AFTER_SECONDS = 5
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # between attempts while rows cannot be written
# What the database refuses for good (a value too long for its column, say): the row is dropped
# and logged. Any other failure is retried, however long it lasts: the rows wait in the spool.
REFUSED = (DataError, IntegrityError)


class LogFullError(Exception):
    """No room for a request's rows: the prediction must not be answered."""


@dataclass
class Pending:
    """Rows of one request (PIECE_ROWS at most): their spool line, and the file holding it."""

    line: bytes
    rows: int
    segment: Segment


class PredictionLog:
    def __init__(self, engine: Engine, settings: Settings, metrics: Metrics) -> None:
        self.engine = engine
        self.metrics = metrics
        self.enabled = settings.prediction_log
        self.max_pending = settings.prediction_log_max_pending
        self.spool = Spool(settings.prediction_log_spool_dir)
        self.personal_data = PersonalData(settings)
        self.retention = Retention(engine, settings.prediction_log_retention_days)
        self.queue: deque[Pending] = deque()
        self.pending_rows = 0
        self.queued = 0  # rows accepted since start
        self.done = 0  # of those, rows written, or refused by the database
        self.condition = threading.Condition()
        self.stopping = False
        self.running = False  # a writer thread runs, or was started and has not decided to end
        self.flushing = 0  # flushes waiting for the writer
        self.thread = threading.Thread(target=self.run, name="prediction-log", daemon=True)

    def start(self) -> None:
        """Take over what dead workers left in the spool, then start the writer (again, after a
        stop: an app may live through several lifespans)."""
        if not self.enabled:
            logger.info("Prediction log: off (PREDICTION_LOG=false): predictions are not kept")
            return
        with self.condition:
            self.recover()
            self.stopping = False
            if self.running and self.thread.is_alive():
                return  # the writer of an earlier lifespan, still at it, goes on
            self.running = True
        logger.info(
            "Prediction log: on; each request's rows are spooled to {} before it is answered",
            self.spool.folder,
        )
        self.thread = threading.Thread(target=self.run, name="prediction-log", daemon=True)
        self.thread.start()

    def recover(self) -> None:
        """Queue the rows of the spool files that no live worker holds (under the lock)."""
        for segment, lines in self.spool.orphans():
            for line in lines:
                try:
                    rows = len(from_json(line)["ids"])
                except (ValueError, KeyError, TypeError):
                    logger.warning("Prediction log: a line of {} cut short; skipped", segment.path)
                    continue
                segment.rows += rows
                self.queue.append(Pending(line, rows, segment))
                self.pending_rows += rows
                self.queued += rows
                self.metrics.log_pending.inc(rows)
                self.metrics.log_rows.labels(ROWS_RECOVERED).inc(rows)
            if segment.rows:
                logger.warning(
                    "Prediction log: {} rows recovered from {}, left by a worker that stopped "
                    "without writing them",
                    segment.rows,
                    segment.path,
                )
            self.spool.settled(segment, 0)  # a file with no row left is removed
            self.metrics.forget_worker(segment.worker)
        self.condition.notify()

    async def record(self, answered: Answered) -> list[str]:
        """The records' prediction ids, in order, once their rows are in the spool; waits up to
        ROOM_WAIT_SECONDS for room, then raises LogFullError (OSError: the spool cannot be
        written)."""
        deadline = time.monotonic() + ROOM_WAIT_SECONDS
        while True:
            try:
                return self.append(answered)
            except LogFullError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def append(self, answered: Answered) -> list[str]:
        """record() without the wait: LogFullError at once when there is no room."""
        ids = new_ids(len(answered.records))
        if not self.enabled:
            return ids  # PREDICTION_LOG=false: nothing is kept, so no outcome can be recorded
        if self.pending_rows + len(ids) > self.max_pending:  # only the writer lowers it meanwhile
            raise LogFullError(
                f"the prediction log has {self.pending_rows} rows waiting for its database "
                f"(PREDICTION_LOG_MAX_PENDING={self.max_pending})"
            )
        lines = spool_lines(ids, answered)
        with self.condition:
            # One write for the whole request: a request the spool refuses leaves no row.
            segment = self.spool.append(b"".join(lines), len(ids))
            for line, start in zip(lines, range(0, len(ids), PIECE_ROWS), strict=True):
                self.queue.append(Pending(line, min(PIECE_ROWS, len(ids) - start), segment))
            self.pending_rows += len(ids)
            self.queued += len(ids)
            self.condition.notify()
        self.metrics.log_pending.inc(len(ids))
        return ids

    def rows(self, batch: Sequence[Pending]) -> Iterator[dict[str, Any]]:
        return database_rows([pending.line for pending in batch], self.personal_data)

    def take(self) -> list[Pending]:
        """The next batch: the queued pieces up to BATCH_ROWS rows (a piece at least), gathered
        for GATHER_SECONDS unless a flush or a stop waits; empty after a minute without rows, or
        when stopping with none left."""
        with self.condition:
            if not self.queue and not self.stopping:
                self.condition.wait(timeout=60)
            if not self.queue:
                return []
            hurry = self.stopping or self.flushing
        if not hurry:
            time.sleep(GATHER_SECONDS)
        with self.condition:
            batch = [self.queue.popleft()]
            size = batch[0].rows
            while self.queue and size + self.queue[0].rows <= BATCH_ROWS:
                batch.append(self.queue.popleft())
                size += batch[-1].rows
            return batch

    def may_end(self, leaving_rows: bool = False) -> bool:
        """Whether the writer thread ends now: stopping (no start() since) with no row queued, or
        `leaving_rows` queued. Decided under the lock, so that a start() either keeps this thread
        or starts another."""
        with self.condition:
            if self.stopping and (leaving_rows or not self.queue):
                self.running = False
            return not self.running

    def give_back(self, batch: list[Pending]) -> None:
        with self.condition:
            self.queue.extendleft(reversed(batch))

    def settle(self, batch: list[Pending], written: int, rejected: int) -> None:
        """The batch is in the database (`rejected` rows refused by it): out of the queue's count
        and out of the spool."""
        count = sum(pending.rows for pending in batch)
        with self.condition:
            for pending in batch:
                self.spool.settled(pending.segment, pending.rows)
            self.pending_rows -= count
            self.done += count
            self.condition.notify_all()
        self.metrics.log_pending.dec(count)
        self.metrics.log_rows.labels(ROWS_WRITTEN).inc(written)
        if rejected:
            self.metrics.log_rows.labels(ROWS_REFUSED).inc(rejected)

    def run(self) -> None:
        attempt = 0
        while True:
            self.retention.purge_if_due()
            batch = self.take()
            if not batch:
                if self.may_end():
                    return
                continue
            try:
                try:
                    written, refused = self.write(batch), 0
                except REFUSED:  # a row the database will never take: the others still go in
                    written = self.write_one_by_one(batch)
                    refused = sum(pending.rows for pending in batch) - written
            except Exception as error:  # noqa: BLE001 - the database away, or any other failure
                self.give_back(batch)
                if attempt == 0:
                    logger.warning(
                        "Prediction log: rows cannot be written ({}); {} rows wait in the spool "
                        "and are retried",
                        str(error).split("\n")[0] or type(error).__name__,
                        self.pending_rows,
                    )
                # While stopping, the rows stay in the spool for the next start.
                if self.stopping and self.may_end(leaving_rows=True):
                    return
                with self.condition:  # a stop ends the wait
                    self.condition.wait(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
                continue
            if attempt:
                logger.info("Prediction log: writing again; the waiting rows follow")
            attempt = 0
            self.settle(batch, written, refused)

    def write(self, batch: list[Pending]) -> int:
        """The batch's rows in one transaction; how many."""
        written = 0
        with self.engine.begin() as connection:
            rows = self.rows(batch)
            while chunk := list(itertools.islice(rows, BATCH_ROWS)):
                connection.execute(self.insert(), chunk)
                written += len(chunk)
        return written

    def insert(self) -> Any:
        """INSERT that skips a row already there: a retry after a lost acknowledgement, or a
        spool recovered after its rows were written, is harmless."""
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[self.engine.dialect.name]
        return dialect.insert(predictions).on_conflict_do_nothing(index_elements=["id"])

    def write_one_by_one(self, batch: list[Pending]) -> int:
        """A batch the database refused: each row in a transaction of its own, those it refuses
        logged and dropped. Any other failure goes up, and the batch is retried whole (the rows
        already in are skipped then)."""
        written = 0
        for row in self.rows(batch):
            try:
                with self.engine.begin() as connection:
                    connection.execute(self.insert(), [row])
                written += 1
            except REFUSED as error:
                logger.bind(request_id=row["request_id"]).error(
                    "Prediction log: row {} refused by the database and dropped: {}",
                    row["id"],
                    str(error).split("\n")[0] or type(error).__name__,
                )
        return written

    def flush(self, timeout: float) -> bool:
        """Wait until every row queued so far is written (or refused); False on timeout."""
        deadline = time.monotonic() + timeout
        with self.condition:
            target = self.queued
            self.flushing += 1  # the writer skips its gathering pause meanwhile
            self.condition.notify_all()
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
        """Write what is queued (within `timeout`, while the database answers), then end the
        thread; rows not written stay in the spool for the next start."""
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
        if self.thread.is_alive():
            self.thread.join(timeout)
        if self.thread.is_alive():
            logger.error(
                "Prediction log: the writer did not finish within {} s of the shutdown", timeout
            )
            return  # it still uses the spool
        with self.condition:
            left = self.spool.close()
            unwritten = sum(pending.rows for pending in self.queue)
            self.queue.clear()  # the next start recovers them from the spool
            self.pending_rows -= unwritten
            self.done += unwritten
            self.condition.notify_all()
        self.metrics.log_pending.dec(unwritten)
        if left:
            logger.error(
                "Prediction log: {} rows not written at shutdown (the database stayed away); "
                "they stay in {} for the next start",
                left,
                self.spool.folder,
            )
