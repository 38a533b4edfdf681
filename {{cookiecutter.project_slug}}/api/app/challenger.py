"""The challenger in shadow: another model version scores the champion's records, off the path.

Each API worker supervises one challenger worker (app/shadow_worker.py) in the challenger's own
interpreter, and restarts it when it dies. A request hands its validated records over (`submit`,
a put on a bounded queue) and is answered by the champion without waiting; the challenger's
answers become rows of the prediction log, role "shadow", paired with the champion's ids. What
the challenger could not score is counted in /metrics (shadow_records, by outcome and reason),
never raised: the champion's answers are the same, and on time, whatever the challenger does.
"""

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger
from pydantic import ValidationError
from pydantic_core import from_json, to_json

from {{ cookiecutter.package_name }} import TASK, PredictionResult

from app.answers import answer_columns
from app.comparison import Comparison
from app.metrics import Metrics
from app.prediction_log import Answered, LogFullError, PredictionLog

WORKER_SCRIPT = Path(__file__).with_name("shadow_worker.py")
QUEUE_RECORDS = 20_000  # records waiting for the challenger; more are dropped, and counted
BATCH_RECORDS = 1_000  # records sent at once: the requests waiting are scored together
LOAD_SECONDS = 60.0  # for the challenger's worker to load its model
ANSWER_SECONDS = 10.0  # for it to answer one batch; then it is restarted
RESTART_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)  # between failures with nothing scored between
LINE_LIMIT = 256 * 1024 * 1024  # the longest answer read: a full batch's PredictionResult


@dataclass(frozen=True)
class Handed:
    """A request's records handed to the challenger, and the champion's ids for them."""

    request_id: str
    ids: Sequence[str]
    records: Sequence[Any]


class WorkerGoneError(Exception):
    """The challenger's worker cannot go on; the message says why."""


class Challenger:
    def __init__(
        self, comparison: Comparison, python: Path, log: PredictionLog, metrics: Metrics
    ) -> None:
        self.comparison = comparison
        self.version = comparison.version
        self.share = comparison.share
        self.python = python
        self.log = log
        self.metrics = metrics
        self.queue: deque[Handed] = deque()
        self.queued = 0  # records in the queue
        self.waiting = asyncio.Event()  # set while the queue holds a request
        self.state = "starting"
        self.scored_since_start = False
        self.process: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def serving(self) -> bool:
        return self.state == "serving"

    def start(self) -> None:
        """Start supervising, in the running event loop (a new one for each app lifespan)."""
        self.waiting = asyncio.Event()
        self.state = "starting"
        self.task = asyncio.create_task(self.supervise(), name="challenger")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.end_worker()
        self.state = "stopped"

    def submit(self, request_id: str, ids: Sequence[str], records: Sequence[Any]) -> None:
        """Hand a request's records to the challenger, or count why they were not; never waits."""
        if random.random() >= self.share:
            return
        if not self.serving:
            self.count("dropped", "challenger not serving", len(ids))
            return
        if self.queued + len(ids) > QUEUE_RECORDS:
            self.count("dropped", "queue full", len(ids))
            return
        self.queue.append(Handed(request_id, ids, records))
        self.queued += len(ids)
        self.waiting.set()

    def count(self, outcome: str, reason: str, records: int) -> None:
        self.metrics.shadow_records.labels(outcome, reason).inc(records)

    async def supervise(self) -> None:
        """Start the worker, feed it, and start it again whenever it fails."""
        failures = 0
        while True:
            self.scored_since_start = False
            try:
                await self.start_worker()
                await self.feed()
            except WorkerGoneError as gone:
                self.state = f"restarting: {gone}"
                logger.warning("Challenger {}: {}", self.version, gone)
            except Exception as error:  # noqa: BLE001 - the champion serves on, whatever this is
                self.state = f"restarting: {type(error).__name__}: {error}"
                logger.exception("Challenger {} failed", self.version)
            await self.end_worker()
            failures = 0 if self.scored_since_start else failures + 1
            await asyncio.sleep(RESTART_SECONDS[min(failures, len(RESTART_SECONDS) - 1)])

    async def start_worker(self) -> None:
        if not self.python.exists():
            raise WorkerGoneError(
                f"not installed: no interpreter at {self.python} (scripts/install.py installs "
                "the challenger of api/challenger.yml)"
            )
        self.process = await asyncio.create_subprocess_exec(
            str(self.python),
            str(WORKER_SCRIPT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        hello = await self.read_line(LOAD_SECONDS)
        if "error" in hello:
            raise WorkerGoneError(hello["error"])
        if (hello.get("version"), hello.get("task")) != (self.version, TASK):
            raise WorkerGoneError(
                f"its environment holds version {hello.get('version')} ({hello.get('task')}), "
                f"not {self.version} ({TASK}): run scripts/install.py again"
            )
        self.state = "serving"
        logger.info("Challenger {} serves in shadow (pid {})", self.version, self.process.pid)

    async def feed(self) -> None:
        """Send what waits, a batch at a time; a worker that dies, even while idle, ends this."""
        if self.process is None:
            raise WorkerGoneError("its worker is not running")
        exited = asyncio.ensure_future(self.process.wait())
        try:
            while True:
                waiting = asyncio.ensure_future(self.waiting.wait())
                await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                if exited.done():
                    raise WorkerGoneError(f"its worker exited with code {exited.result()}")
                batch = self.take()
                try:
                    await self.score(batch)
                except WorkerGoneError:
                    self.count("failed", "worker died", sum(len(one.ids) for one in batch))
                    raise
        finally:
            exited.cancel()

    def take(self) -> list[Handed]:
        """The requests waiting, up to BATCH_RECORDS records (at least one request)."""
        batch = [self.queue.popleft()]
        size = len(batch[0].ids)
        while self.queue and size + len(self.queue[0].ids) <= BATCH_RECORDS:
            batch.append(self.queue.popleft())
            size += len(batch[-1].ids)
        self.queued -= size
        if not self.queue:
            self.waiting.clear()
        return batch

    async def score(self, batch: list[Handed]) -> None:
        """One round trip for the batch; each request's answers become its shadow rows."""
        stdin, _ = self.pipes()
        records = [record for one in batch for record in one.records]
        started = time.perf_counter()
        try:
            stdin.write(to_json({"records": records}) + b"\n")
            await asyncio.wait_for(stdin.drain(), ANSWER_SECONDS)
        except (BrokenPipeError, ConnectionResetError, TimeoutError) as error:
            raise WorkerGoneError(f"its worker stopped reading: {error!r}") from None
        reply = await self.read_line(ANSWER_SECONDS)
        latency_ms = (time.perf_counter() - started) * 1000
        try:
            if "error" in reply:
                raise RuntimeError(reply["error"])
            answers = answer_columns(PredictionResult.model_validate(reply))
        except (ValidationError, RuntimeError) as error:
            self.count("failed", "error", len(records))
            logger.warning(
                "Challenger {} could not score {} records: {}", self.version, len(records), error
            )
            return
        self.scored_since_start = True
        start = 0
        for one in batch:
            end = start + len(one.ids)
            mine = {name: values[start:end] for name, values in answers.items()}
            answered = Answered(
                one.request_id, self.version, one.records, mine, latency_ms, one.ids
            )
            start = end
            try:
                self.log.append(answered)
            except (LogFullError, OSError):
                self.count("dropped", "prediction log full", len(one.ids))
            else:
                self.count("scored", "", len(one.ids))

    async def read_line(self, seconds: float) -> dict[str, Any]:
        _, stdout = self.pipes()
        try:
            line = await asyncio.wait_for(stdout.readline(), seconds)
        except TimeoutError:
            raise WorkerGoneError(f"no answer within {seconds:g} s") from None
        except ValueError as error:  # longer than LINE_LIMIT
            raise WorkerGoneError(f"an answer too long to read: {error}") from None
        if not line:
            code = await self.process.wait() if self.process else None
            raise WorkerGoneError(f"its worker exited with code {code}")
        try:
            reply = from_json(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise WorkerGoneError(f"it wrote what is not a JSON object: {line[:200]!r}")
        return reply

    def pipes(self) -> tuple[asyncio.StreamWriter, asyncio.StreamReader]:
        if self.process is None or self.process.stdin is None or self.process.stdout is None:
            raise WorkerGoneError("its worker is not running")
        return self.process.stdin, self.process.stdout

    async def end_worker(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.kill()
        await process.wait()
