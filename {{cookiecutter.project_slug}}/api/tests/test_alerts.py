"""Alerts: the rules file, each rule's verdict, and `python -m app.alerts` run for real against a
real service, posting to a local webhook receiver: each alert sent once, its resolution once.
The same rules in Prometheus are test_alert_rules.py's."""

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import (
    Postgres,
    Record,
    broken_copy,
    feedback_for,
    other_outcome,
    uvicorn,
)

from app.alerts.checks import CHECKS, counter_growth
from app.alerts.readings import Reading
from app.alerts.rules import EXPRESSIONS, RulesError, load_rules
from app.answers import CLASSIFICATION, OUTCOME
from bench.servers import API_ROOT, free_port

RULES = load_rules()


class Receiver:
    """A webhook on 127.0.0.1: keeps the text of every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body)["text"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> list[str]:
        """The messages received since the last take."""
        taken = list(self.messages)
        self.messages.clear()
        return taken


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


def rules_file(tmp_path: Path, **changes: dict[str, Any]) -> Path:
    """alerts.yml with some rules' fields changed (a window of seconds, a lower threshold)."""
    raw = yaml.safe_load((API_ROOT / "alerts.yml").read_text())
    for name, fields in changes.items():
        raw[name].update(fields)
    path = tmp_path / "alerts.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def check(
    url: str, database: str, receiver: Receiver, rules: Path | None = None, webhook: str = ""
) -> subprocess.CompletedProcess[str]:
    """One `python -m app.alerts`, as the cron service runs it (posting to `webhook` instead of
    the receiver, when given)."""
    environment = {
        "SERVICE_URL": url,
        "DATABASE_URL": database,
        "ALERT_WEBHOOK_URL": webhook or receiver.url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "app.alerts"]
    if rules:
        command += ["--rules", str(rules)]
    return subprocess.run(
        command,
        cwd=API_ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def predict(url: str, records: list[Record]) -> list[dict[str, Any]]:
    response = httpx.post(f"{url}/api/v1/predict", json={"records": records}, timeout=60)
    response.raise_for_status()
    predictions: list[dict[str, Any]] = response.json()["predictions"]
    return predictions


def fired(messages: list[str], summary_of: str) -> bool:
    return any(m.startswith("[FIRING]") and RULES[summary_of].summary in m for m in messages)


def resolved(messages: list[str], summary_of: str) -> bool:
    return any(m.startswith("[RESOLVED]") and RULES[summary_of].summary in m for m in messages)


# The rules file and each verdict, in-process.


def test_the_shipped_rules_are_valid_and_every_rule_has_its_check() -> None:
    assert set(RULES) == set(CHECKS) == set(EXPRESSIONS)
    for rule in RULES.values():
        assert rule.action
        assert rule.summary


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "not_ready: {severity: critical, summary: s, action: a}\nsomething: {}\n",
            "unknown rules",
        ),
        ("server_errors: {severity: critical, summary: s, action: a}\n", "needs a threshold"),
        ("drift: {severity: loud, summary: s, action: a}\n", "severity"),
        ("drift: {severity: warning, summary: s, action: a, windows: 3}\n", "windows"),
        ("- drift\n", "expected a mapping"),
    ],
)
def test_a_bad_rules_file_is_one_line_naming_the_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "alerts.yml"
    path.write_text(content)
    with pytest.raises(RulesError, match=message):
        load_rules(path)
    done = subprocess.run(
        [sys.executable, "-m", "app.alerts", "--rules", str(path)],
        cwd=API_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("alerts: ")
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_check_needs_the_service_url(tmp_path: Path) -> None:
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    environment.pop("SERVICE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "app.alerts"], cwd=API_ROOT, env=environment, capture_output=True
    )
    assert done.returncode == 1
    assert (
        done.stderr.decode().strip()
        == "alerts: SERVICE_URL is not set: the URL of the service to check"
    )


def reading(**metrics: list[tuple[dict[str, str], float]]) -> Reading:
    return Reading(datetime.now(UTC), unready=None, model_version="v", metrics=dict(metrics))


def growth_over(checks: list[tuple[int, list[float]]], window: float = 10) -> list[Any]:
    """counter_growth at each (minute, counters) check, in turn, over a window of minutes."""
    rule = RULES["log_refused"].model_copy(update={"window_minutes": window})
    start, seen = datetime(2026, 1, 1, tzinfo=UTC), []
    memory: dict[str, Any] = {}
    for minute, values in checks:
        at = Reading(start + timedelta(minutes=minute), None)
        grown, memory = counter_growth(rule, at, memory, values)
        seen.append(grown)
    return seen


def test_a_counter_is_judged_over_its_window_across_restarts() -> None:
    # Nothing to compare with at first; then the growth since the window's start (the newest
    # snapshot at least 10 min old), added up between checks: a fall is a restart from zero.
    checks = [(0, [5.0]), (4, [6.0]), (8, [6.0]), (12, [9.0]), (16, [2.0])]
    assert growth_over(checks) == [None, [1.0], [1.0], [4.0], [5.0]]
    # Counters read together restart together, even when the total has already passed its old
    # value: 1,000 requests and 100 errors, then a restart, then 1,050 requests and 60 errors.
    together = [(0, [1000.0, 100.0]), (5, [1050.0, 60.0])]
    assert growth_over(together) == [None, [1050.0, 60.0]]
    # Checks that stopped for a day: no start to trust, rather than a day's growth.
    assert growth_over([(0, [5.0]), (1440, [9.0])]) == [None, None]


def test_log_refused_fires_on_refused_rows_and_stays_silent_without() -> None:
    minute_ago = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    rule, memory = RULES["log_refused"], {"snapshots": [[minute_ago, 0.0]]}
    quiet = reading(prediction_log_rows_total=[({"outcome": "written"}, 500.0)])
    assert CHECKS["log_refused"](rule, quiet, memory).firing is False
    refused = [({"outcome": "written"}, 500.0), ({"outcome": "dropped_rejected"}, 3.0)]
    verdict = CHECKS["log_refused"](rule, reading(prediction_log_rows_total=refused), memory)
    assert verdict.firing is True
    assert verdict.detail == f"3 rows refused in the last {rule.window_minutes:g} min"


def test_no_predictions_fires_on_silence_and_not_on_traffic() -> None:
    rule = RULES["no_predictions"]
    silent, busy = reading(), reading()
    silent.predictions, busy.predictions = 0, 12
    assert CHECKS["no_predictions"](rule, silent, {}).firing is True
    assert CHECKS["no_predictions"](rule, busy, {}).firing is False
    unknown = reading()
    assert CHECKS["no_predictions"](rule, unknown, {}).firing is None  # the database was away


# The check for real: a Uvicorn process, its database, and the webhook receiver.


def test_a_healthy_service_fires_nothing(
    tmp_path: Path, receiver: Receiver, example: Record
) -> None:
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    with uvicorn(DATABASE_URL=database) as url:
        predict(url, [example] * 3)
        for _ in range(2):
            done = check(url, database, receiver)
            assert done.returncode == 0, done.stdout + done.stderr
    assert receiver.take() == []
    assert "not_ready: ok (ready)" in done.stdout


def test_not_ready_fires_once_then_resolves(tmp_path: Path, receiver: Receiver) -> None:
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    broken = str(broken_copy(tmp_path / "package", "no model"))
    with uvicorn(DATABASE_URL=database, PYTHONPATH=broken) as url:
        nowhere = "http://127.0.0.1:9/hooks/secret-token"  # nothing listens: not delivered
        undelivered = check(url, database, receiver, webhook=nowhere)
        assert undelivered.returncode == 1
        assert "not ready: not delivered: the webhook did not answer" in undelivered.stdout
        assert "secret-token" not in undelivered.stdout + undelivered.stderr
        first = check(url, database, receiver)  # sent now
        again = check(url, database, receiver)
    assert first.returncode == again.returncode == 1  # a critical rule fires
    (message,) = receiver.take()
    assert message.startswith("[FIRING] critical: The service is not ready")
    assert "ModelNotTrainedError" in message
    assert "What to do: Read the reason" in message
    assert receiver.url not in first.stdout + first.stderr
    with uvicorn(DATABASE_URL=database) as url:
        back = check(url, database, receiver)
    assert back.returncode == 0
    (message,) = receiver.take()
    assert message.startswith("[RESOLVED] The service is not ready")
    assert "firing since" in message


def test_an_unreachable_service_is_not_ready(tmp_path: Path, receiver: Receiver) -> None:
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    with uvicorn(DATABASE_URL=database) as url:
        pass  # started (and migrated the database), then stopped
    done = check(url, database, receiver)
    assert done.returncode == 1
    (message,) = receiver.take()
    assert "The service is not ready" in message
    assert "did not answer" in message


def test_a_database_that_is_away_is_posted_and_stops_the_check(
    tmp_path: Path, receiver: Receiver
) -> None:
    away = f"postgresql://alerts@127.0.0.1:{free_port()}/log"  # nothing listens there
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    with uvicorn(DATABASE_URL=database) as url:
        done = check(url, away, receiver)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "alerts: the database (DATABASE_URL) is unreachable: OperationalError"
    )
    (message,) = receiver.take()
    assert message.startswith("[CHECK FAILED] The alert check cannot run")


def test_a_rule_turned_off_while_firing_is_resolved(tmp_path: Path, receiver: Receiver) -> None:
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    with uvicorn(DATABASE_URL=database) as url:
        pass  # started (and migrated the database), then stopped
    check(url, database, receiver)
    assert fired(receiver.take(), "not_ready")
    off = rules_file(tmp_path, not_ready={"enabled": False})
    done = check(url, database, receiver, off)
    (message,) = receiver.take()
    assert message.startswith("[RESOLVED] The service is not ready"), done.stdout
    assert message.endswith(": the rule is no longer checked")
    assert check(url, database, receiver, off).stdout.count("not_ready") == 0
    assert receiver.take() == []


def test_drift_fires_on_one_kind_of_record_and_resolves_once_it_leaves_the_window(
    tmp_path: Path, receiver: Receiver, example: Record
) -> None:
    """Drift over a window of 15 s: the same record 150 times drifts; once those records are older
    than the window, too few are left to say so, and it resolves."""
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    rules = rules_file(tmp_path, drift={"window_minutes": 0.25})
    with uvicorn(DATABASE_URL=database) as url:
        predict(url, [example] * 150)
        shifted = check(url, database, receiver, rules)
        (message,) = receiver.take()
        assert message.startswith("[FIRING] warning: Inputs or predictions have drifted"), message
        assert "PSI" in message
        assert shifted.returncode == 0  # a warning: the check passes
        time.sleep(16)
        done = check(url, database, receiver, rules)
    (message,) = receiver.take()
    assert message.startswith("[RESOLVED] Inputs or predictions have drifted"), done.stdout
    assert "too few to measure drift" in message


def test_quality_fires_on_wrong_outcomes(
    tmp_path: Path, receiver: Receiver, example: Record
) -> None:
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    with uvicorn(DATABASE_URL=database) as url:
        for prediction in predict(url, [example] * 40):
            # Another class; or a value far off, outside its interval.
            wrong = other_outcome(prediction) if CLASSIFICATION else prediction["value"] * 5 + 1e4
            body = feedback_for(prediction, **{OUTCOME: wrong})
            httpx.post(f"{url}/api/v1/feedback", json=body, timeout=30).raise_for_status()
        done = check(url, database, receiver)
    assert done.returncode == 0  # a warning: the check still passes
    (message,) = receiver.take()
    assert message.startswith("[FIRING] warning: Live quality is worse than on the holdout")
    assert "40 outcomes" in message


def share_of_5xx(printed: str) -> tuple[int, int]:
    """The failed and all requests in the window, as the check printed them."""
    (counts,) = re.findall(r"^server_errors: \w+ \((\d+) of (\d+) requests", printed, re.MULTILINE)
    return int(counts[0]), int(counts[1])


def test_server_errors_fire_on_5xx_and_resolve(
    tmp_path: Path, receiver: Receiver, example: Record
) -> None:
    """A model that fails on every prediction (500s), within a window of a minute; then a sound
    one (a restart, so its counters start again), whose 400 answers bring the window's share of
    5xx (20 in 420) under the threshold."""
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    rules = rules_file(tmp_path, server_errors={"window_minutes": 1, "minimum": 10})
    broken = str(broken_copy(tmp_path / "package", "wrong features"))
    with uvicorn(DATABASE_URL=database, PYTHONPATH=broken) as url:
        first = check(url, database, receiver, rules)  # the window's first count
        assert "server_errors: ok (the first count of the window)" in first.stdout
        for _ in range(20):
            httpx.post(f"{url}/api/v1/predict", json={"records": [example]}, timeout=30)
        failing = check(url, database, receiver, rules)
    assert failing.returncode == 1
    assert share_of_5xx(failing.stdout)[0] >= 20  # the check's own calls to the service count too
    assert fired(receiver.take(), "server_errors"), failing.stdout
    with uvicorn(DATABASE_URL=database) as url, httpx.Client(base_url=url) as client:
        for _ in range(400):
            client.post("/api/v1/predict", json={"records": [example]}).raise_for_status()
        healthy = check(url, database, receiver, rules)
    failed, requests = share_of_5xx(healthy.stdout)
    assert failed >= 20
    assert requests >= 420
    assert resolved(receiver.take(), "server_errors"), healthy.stdout


def test_the_log_backlog_fires_while_the_database_blocks_writes(
    postgres: Postgres, tmp_path: Path, receiver: Receiver, example: Record
) -> None:
    """PostgreSQL with the predictions table locked: answered predictions wait in the spool, the
    backlog fires; unlocked, the rows are written and it resolves."""
    import psycopg

    from app.db import migrate

    database = postgres.database("alerts_backlog")
    migrate(database.replace("postgresql://", "postgresql+psycopg://"))
    rules = rules_file(tmp_path, log_backlog={"threshold": 10})
    spool = str(tmp_path / "spool")
    with uvicorn(DATABASE_URL=database, PREDICTION_LOG_SPOOL_DIR=spool) as url:
        with psycopg.connect(database) as blocker:
            blocker.execute("LOCK TABLE predictions IN EXCLUSIVE MODE")
            predict(url, [example] * 50)
            blocked = check(url, database, receiver, rules)
        assert blocked.returncode == 1, blocked.stdout + blocked.stderr
        assert fired(receiver.take(), "log_backlog"), blocked.stdout
        deadline = time.monotonic() + 60
        while "log_backlog: FIRING" in (done := check(url, database, receiver, rules)).stdout:
            assert time.monotonic() < deadline, done.stdout
            time.sleep(1)
    assert resolved(receiver.take(), "log_backlog"), done.stdout
