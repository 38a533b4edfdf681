"""The prediction log under real traffic: a soak, a database outage, SIGTERM and kill -9, on real
processes.

Every prediction answered must end up as a row, and every outcome acknowledged too. SOAK_SECONDS
sets the soak's length (30).
"""

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Postgres, Record, feedback_for, uvicorn, uvicorn_process
from sqlalchemy import select

from app.config import Settings
from app.db import feedback, make_engine, migrate, predictions

pytestmark = pytest.mark.heavy
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "30"))


@dataclass
class Traffic:
    """Clients that predict (1 to 3 records a request) and report outcomes, until told to stop."""

    url: str
    example: Record
    answered: set[str] = field(default_factory=set)
    outcomes: int = 0
    acknowledged: set[str] = field(default_factory=set)  # prediction ids whose outcome got 201
    outcomes_again: int = 0  # sent again after a 503 with Retry-After (not in the log yet)
    errors: list[str] = field(default_factory=list)
    refused: int = 0  # requests cut off once the server is told to stop (the SIGTERM test)
    server_stopping: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, seed: int, feedback_every: int) -> None:
        chance = random.Random(seed)
        mine: list[dict[str, Any]] = []  # feedback bodies not sent yet
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set():
                try:
                    if feedback_every and mine and chance.randrange(feedback_every) == 0:
                        sent = mine.pop(chance.randrange(len(mine)))
                        answer = client.post("/api/v1/feedback", json=sent)
                        if answer.status_code == 503 and "Retry-After" in answer.headers:
                            mine.append(sent)  # as the answer says: later
                            with self.lock:
                                self.outcomes_again += 1
                        elif answer.status_code != 201:
                            self.fail(f"feedback {answer.status_code}: {answer.text[:200]}")
                        else:
                            with self.lock:
                                self.outcomes += 1
                                self.acknowledged.add(sent["prediction_id"])
                        continue
                    records = [self.example] * chance.randint(1, 3)
                    answer = client.post("/api/v1/predict", json={"records": records})
                    if answer.status_code != 200:
                        self.fail(f"predict {answer.status_code}: {answer.text[:200]}")
                        continue
                    bodies = [feedback_for(p) for p in answer.json()["predictions"]]
                    mine += bodies
                    with self.lock:
                        self.answered.update(body["prediction_id"] for body in bodies)
                except httpx.TransportError as error:
                    with self.lock:
                        self.refused += 1
                    if not self.server_stopping:
                        self.fail(f"{type(error).__name__}: {error}")
                    time.sleep(0.05)

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def run(self, clients: int, feedback_every: int = 0) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self.client, args=(seed, feedback_every))
            for seed in range(clients)
        ]
        for thread in threads:
            thread.start()
        return threads

    def finish(self, threads: list[threading.Thread]) -> None:
        self.stop.set()
        for thread in threads:
            thread.join()


def logged(url: str) -> tuple[set[str], int]:
    ids, outcomes = logged_outcomes(url)
    return ids, len(outcomes)


def logged_outcomes(url: str) -> tuple[set[str], set[str]]:
    """The ids of the predictions in the log, and of those with an outcome."""
    engine = make_engine(Settings(_env_file=None, database_url=url).database_url)
    with engine.connect() as connection:
        ids = set(connection.scalars(select(predictions.c.id)))
        outcomes = set(connection.scalars(select(feedback.c.prediction_id)))
    engine.dispose()
    return ids, outcomes


def metric(url: str, sample: str) -> float:
    """A sample of /metrics, by its name and labels as printed (0 when absent)."""
    lines = httpx.get(url + "/metrics").text.splitlines()
    values = [float(line.split()[-1]) for line in lines if line.startswith(sample + " ")]
    return sum(values)


def pending(url: str) -> float:
    return metric(url, "prediction_log_rows_pending")


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_soak(database_url: str, example: Record) -> None:
    """16 clients for SOAK_SECONDS against 2 workers, outcomes mixed in: a row per prediction."""
    with uvicorn(WEB_CONCURRENCY="2", DATABASE_URL=database_url) as url:
        traffic = Traffic(url, example)
        threads = traffic.run(16, feedback_every=5)
        time.sleep(SOAK_SECONDS)
        traffic.finish(threads)
    rows, outcomes = logged(database_url)
    kind = database_url.split(":")[0]
    print(
        f"\nsoak on {kind}: {len(traffic.answered)} predictions answered, {len(rows)} rows; "
        f"{traffic.outcomes} outcomes recorded, {outcomes} rows "
        f"({traffic.outcomes_again} sent again after a 503); {len(traffic.errors)} errors"
    )
    assert traffic.errors == []
    assert rows == traffic.answered
    assert outcomes == traffic.outcomes
    assert len(rows) > 100 * SOAK_SECONDS  # it was traffic


def test_the_database_away_for_ten_seconds(postgres: Postgres, example: Record) -> None:
    """PostgreSQL stopped mid-traffic: predictions still answer, and every row arrives later."""
    database = postgres.database(f"fault_{int(time.time() * 1000)}")
    migrate(Settings(_env_file=None, database_url=database).database_url)
    with uvicorn(DATABASE_URL=database) as url:
        traffic = Traffic(url, example)
        threads = traffic.run(4)
        time.sleep(3)
        postgres.stop()
        during = len(traffic.answered)
        time.sleep(10)
        answered_while_away = len(traffic.answered) - during
        waiting = pending(url)
        postgres.start()
        time.sleep(3)
        traffic.finish(threads)
        assert wait_for(lambda: pending(url) == 0, 60), "rows still waiting a minute later"
        rows, _ = logged(database)
    print(
        f"\ndatabase away 10 s: {answered_while_away} predictions answered meanwhile, "
        f"{waiting:.0f} rows waiting at its return; {len(traffic.answered)} answered in all, "
        f"{len(rows)} rows"
    )
    assert traffic.errors == []
    assert answered_while_away > 100
    assert waiting > 0
    assert rows == traffic.answered


def test_sigterm_loses_no_row(database_url: str, example: Record) -> None:
    """SIGTERM in the middle of traffic: every prediction answered before it is written."""
    with uvicorn_process(WEB_CONCURRENCY="2", DATABASE_URL=database_url) as (url, process):
        traffic = Traffic(url, example)
        threads = traffic.run(8)
        time.sleep(3)
        traffic.server_stopping = True  # requests in flight may now be cut off, never answered
        process.terminate()
        process.wait(timeout=60)
        traffic.finish(threads)
    rows, _ = logged(database_url)
    kind = database_url.split(":")[0]
    print(
        f"\nSIGTERM on {kind}: {len(traffic.answered)} predictions answered, {len(rows)} rows; "
        f"{traffic.refused} requests cut off or refused after the signal"
    )
    assert traffic.errors == []
    assert len(traffic.answered) > 100
    assert rows == traffic.answered


def workers(supervisor: int) -> list[int]:
    """The pids of Uvicorn's worker processes (spawned by multiprocessing) under `supervisor`."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_kill_9_loses_no_answered_prediction(database_url: str, example: Record) -> None:
    """8 clients against 2 workers, outcomes mixed in. kill -9 of one worker (Uvicorn starts
    another), then of the whole process group: no shutdown, nothing flushed. The service starts
    again on the same disk and settles: every prediction answered is a row, every outcome
    acknowledged is recorded."""
    environment = {"WEB_CONCURRENCY": "2", "DATABASE_URL": database_url}
    with uvicorn_process(None, **environment) as (url, process):
        traffic = Traffic(url, example)
        traffic.server_stopping = True  # a killed worker's connections break: not answered
        threads = traffic.run(8, feedback_every=4)
        time.sleep(3)
        first = workers(process.pid)
        assert len(first) == 2
        answered_before = len(traffic.answered)
        os.kill(first[0], signal.SIGKILL)
        assert wait_for(lambda: len(set(workers(process.pid)) - set(first)) == 1, 30)
        time.sleep(3)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        traffic.finish(threads)
    with uvicorn(None, **environment) as url:
        recovered = metric(url, 'prediction_log_rows_total{outcome="recovered"}')
        assert wait_for(lambda: pending(url) == 0, 60), "rows still waiting a minute later"
    rows, outcomes = logged_outcomes(database_url)
    kind = database_url.split(":")[0]
    lost = traffic.answered - rows
    print(
        f"\nkill -9 on {kind}: {len(traffic.answered)} predictions answered "
        f"({answered_before} before a worker was killed), {len(rows)} rows, "
        f"{len(lost)} lost; {recovered:.0f} rows recovered from spools at the restart; "
        f"{len(traffic.acknowledged)} outcomes acknowledged, "
        f"{len(traffic.acknowledged - outcomes)} lost; {traffic.refused} requests cut off"
    )
    assert traffic.errors == []
    assert len(traffic.answered) > 100
    assert lost == set()
    assert traffic.acknowledged <= outcomes
