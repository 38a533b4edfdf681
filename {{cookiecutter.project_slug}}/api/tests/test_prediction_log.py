"""The prediction log and outcomes, on SQLite and on a real PostgreSQL server."""

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from alembic import command
from conftest import (
    FIELDS,
    ClientFactory,
    Postgres,
    Record,
    feedback_for,
    made_up_answers,
    nullable,
    other_outcome,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, select, text

from {{ cookiecutter.package_name }} import (
    PERSONAL_FIELDS,
    InputRecord,
    model_features,
)

from app import outcomes
from app.answers import ANSWER_COLUMNS, CLASSIFICATION, OTHER_TASK_FIELDS, OUTCOME
from app.config import Settings
from app.db import (
    ID_LENGTH,
    SchemaBehindError,
    alembic_config,
    feedback,
    make_engine,
    migrate,
    predictions,
)
from app.main import create_app
from app.metrics import Metrics
from app.middleware import MAX_REQUEST_ID_LENGTH
from app.prediction_log import RETRY_AFTER_SECONDS, Answered, LogFullError, PredictionLog, writer
from app.prediction_log.ids import new_ids
from app.prediction_log.rows import PIECE_ROWS
from bench.servers import API_ROOT


def writer_of(client: TestClient) -> PredictionLog:
    assert isinstance(client.app, FastAPI)
    writer: PredictionLog = client.app.state.services.prediction_log
    return writer


def rows(url: str) -> list[dict[str, Any]]:
    engine = make_engine(Settings(_env_file=None, database_url=url).database_url)
    with engine.connect() as connection:
        found = [dict(row._mapping) for row in connection.execute(select(predictions))]
    engine.dispose()
    return found


def test_every_record_is_logged(
    make_client: ClientFactory, example: Record, database_url: str
) -> None:
    """More records than one batch, so the request is queued in pieces: each row is still its
    own record's (records differ by an optional field left out, when the schema has one)."""
    client = make_client(database_url=database_url)
    optional = [name for name in FIELDS if nullable(name) and name not in PERSONAL_FIELDS]
    records = [
        {**example, optional[0]: None} if optional and index % 3 == 0 else example
        for index in range(PIECE_ROWS + 2)
    ]
    response = client.post(
        "/api/v1/predict", json={"records": records}, headers={"X-Request-ID": "log-test"}
    )
    assert response.status_code == 200
    answers = response.json()["predictions"]
    ids = [answer["prediction_id"] for answer in answers]
    assert len(set(ids)) == len(records)
    assert writer_of(client).flush(30)

    logged = {row["id"]: row for row in rows(database_url)}
    assert sorted(logged) == sorted(ids)
    for answer, record in zip(answers, records, strict=True):
        row = logged[answer["prediction_id"]]
        assert row["request_id"] == "log-test"
        for name in ANSWER_COLUMNS:
            assert row[name] == answer[name], name
        assert row["model_version"] == response.json()["model_version"]
        assert row["latency_ms"] > 0
        features = model_features([InputRecord.model_validate(record).model_dump(mode="json")])
        assert row["features"] == {name: values[0] for name, values in features.items()}
        for name, value in record.items():
            if name in PERSONAL_FIELDS:
                assert row["inputs"][name].startswith("hmac-sha256:")
                assert str(value) not in str(row["inputs"])
            else:
                assert row["inputs"][name] == value
    metrics = client.get("/metrics").text
    assert 'prediction_log_rows_total{outcome="written"} ' + f"{len(records)}.0" in metrics
    assert "prediction_log_rows_pending 0.0" in metrics


def test_personal_fields_can_be_left_out(make_client: ClientFactory, example: Record) -> None:
    if not PERSONAL_FIELDS:
        pytest.skip("the input schema marks no field as personal")
    url = Settings().database_url
    client = make_client(personal_data="drop")
    answer = client.post("/api/v1/predict", json={"records": [example]}).json()
    assert writer_of(client).flush(10)
    (row,) = [row for row in rows(url) if row["id"] == answer["predictions"][0]["prediction_id"]]
    assert not set(PERSONAL_FIELDS) & set(row["inputs"])


def test_the_same_key_gives_the_same_hash(make_client: ClientFactory, example: Record) -> None:
    if not PERSONAL_FIELDS:
        pytest.skip("the input schema marks no field as personal")
    url = Settings().database_url
    hashes = []
    for _ in range(2):  # two apps, as two workers or two deploys
        client = make_client(personal_data_key="k" * 32)
        answer = client.post("/api/v1/predict", json={"records": [example]}).json()
        assert writer_of(client).flush(10)
        wanted = answer["predictions"][0]["prediction_id"]
        (row,) = [row for row in rows(url) if row["id"] == wanted]
        hashes.append(row["inputs"][PERSONAL_FIELDS[0]])
    assert hashes[0] == hashes[1]


def test_outcomes(make_client: ClientFactory, example: Record, database_url: str) -> None:
    client = make_client(database_url=database_url)
    answer = client.post("/api/v1/predict", json={"records": [example]}).json()["predictions"][0]
    truth = answer[OUTCOME]
    sent = feedback_for(answer, note="checked")

    first = client.post("/api/v1/feedback", json=sent)  # at once: the row may still be queued
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body[OUTCOME], body[f"predicted_{OUTCOME}"], body["note"]) == (truth, truth, "checked")
    assert not set(OTHER_TASK_FIELDS) & set(body)
    again = client.post("/api/v1/feedback", json=sent)
    assert again.status_code == 200
    assert again.json()[OUTCOME] == truth
    conflict = client.post("/api/v1/feedback", json={**sent, OUTCOME: other_outcome(answer)})
    assert conflict.status_code == 409
    assert repr(truth) in conflict.json()["detail"]

    unknown = client.post("/api/v1/feedback", json={**sent, "prediction_id": "no-such-id"})
    assert unknown.status_code == 404
    assert "no prediction 'no-such-id'" in unknown.json()["detail"]
    wrong = client.post("/api/v1/feedback", json={**sent, OUTCOME: "not a class"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == OUTCOME
    expected = "not one of the model's classes" if CLASSIFICATION else "a valid number"
    assert expected in wrong.json()["errors"][0]["message"]
    both = {**sent, OTHER_TASK_FIELDS[0]: 1.0 if CLASSIFICATION else "1"}
    other_task = client.post("/api/v1/feedback", json=both)
    assert other_task.status_code == 422
    assert f"send the outcome as {OUTCOME}" in other_task.text

    engine = make_engine(Settings(_env_file=None, database_url=database_url).database_url)
    with engine.connect() as connection:
        stored = connection.execute(select(feedback)).all()
    engine.dispose()
    assert [(row.prediction_id, getattr(row, OUTCOME), row.note) for row in stored] == [
        (answer["prediction_id"], truth, "checked")
    ]


def test_outcomes_need_the_api_key(make_client: ClientFactory) -> None:
    client = make_client(api_key="k" * 20)
    sent = {"prediction_id": "any", OUTCOME: made_up_answers()[OUTCOME][0]}
    assert client.post("/api/v1/feedback", json=sent).status_code == 401
    answer = client.post("/api/v1/feedback", json=sent, headers={"X-API-Key": "k" * 20})
    assert answer.status_code == 404


def test_a_schema_behind_refuses_to_start(postgres: Postgres) -> None:
    """PostgreSQL is migrated once per deploy, never by the service: behind, it will not start."""
    url = postgres.database(f"behind_{uuid.uuid4().hex}")
    app = create_app(Settings(_env_file=None, database_url=url))
    with pytest.raises(SchemaBehindError, match=r"run `python -m app.migrate`"), TestClient(app):
        pass
    environment = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgres://")}
    # The start command says so in one line and fails, before any worker starts.
    started = subprocess.run(
        [sys.executable, "-m", "app.serve"],
        cwd=API_ROOT,
        env={**environment, "WEB_CONCURRENCY": "2", "PORT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    assert started.stderr.splitlines()[-1].startswith("app.serve: the prediction log's database")
    assert "run `python -m app.migrate`" in started.stderr
    subprocess.run([sys.executable, "-m", "app.migrate"], cwd=API_ROOT, env=environment, check=True)
    with TestClient(create_app(Settings(_env_file=None, database_url=url))) as client:
        assert client.get("/ready").status_code == 200


def test_the_migrations_match_the_tables(database_url: str) -> None:
    """`alembic check`: app/db.py's tables are exactly what the migrations build."""
    url = Settings(_env_file=None, database_url=database_url).database_url
    migrate(url)
    checked = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=API_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


def test_a_log_of_the_first_migration_keeps_its_rows(
    database_url: str, make_client: ClientFactory, example: Record
) -> None:
    """A log made by migration 0001 (labels only), with a row and its outcome, upgraded to the
    head: both are kept, and the served model's answers are written beside them."""
    url = Settings(_env_file=None, database_url=database_url).database_url
    command.upgrade(alembic_config(url), "0001")  # a new SQLite file
    command.downgrade(alembic_config(url), "0001")  # PostgreSQL, migrated to the head already
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            insert(predictions).values(
                id="old",
                request_id="r",
                created_at=datetime.now(UTC),
                model_version="0",
                inputs={},
                features={},
                label="a class",
                probabilities={"a class": 1.0},
                latency_ms=1.0,
            )
        )
        outcome = {"prediction_id": "old", "label": "a class", "created_at": datetime.now(UTC)}
        connection.execute(insert(feedback).values(**outcome))
    migrate(url)
    client = make_client(database_url=database_url)
    answer = client.post("/api/v1/predict", json={"records": [example]}).json()["predictions"][0]
    assert client.post("/api/v1/feedback", json=feedback_for(answer)).status_code == 201
    with engine.connect() as connection:
        kept = connection.execute(select(predictions.c.label).where(predictions.c.id == "old"))
        assert kept.scalar_one() == "a class"
        outcomes = connection.execute(select(feedback.c.prediction_id)).scalars().all()
    assert sorted(outcomes) == sorted(["old", answer["prediction_id"]])
    engine.dispose()


def test_a_refused_row_is_logged_and_the_writer_goes_on(
    database_url: str, example: Record, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None, database_url=database_url, prediction_log_spool_dir=tmp_path / "spool"
    )
    engine = make_engine(settings.database_url)
    migrate(settings.database_url)
    metrics = Metrics("test")
    log = PredictionLog(engine, settings, metrics)
    record = InputRecord.model_validate(example)

    def append(request_id: str, version: str = "test", value: InputRecord = record) -> str:
        (prediction_id,) = log.append(Answered(request_id, version, [value], made_up_answers(), 1))
        return prediction_id

    fresh = [append("fresh-1")]
    if engine.dialect.name == "postgresql":  # a value longer than its column: refused
        append("bad", version="v" * 65)
    else:  # SQLite takes any length, but no row without its latency
        log.append(Answered("bad", "test", [record], made_up_answers(), cast(float, None)))
    fresh.append(append("fresh-2"))
    log.start()
    assert log.flush(10)
    log.stop()
    assert sorted(row["id"] for row in rows(database_url)) == sorted(fresh)
    counted = metrics.registry.get_sample_value
    assert counted("prediction_log_rows_total", {"outcome": "dropped_rejected"}) == 1
    assert counted("prediction_log_rows_total", {"outcome": "written"}) == 2
    assert list((tmp_path / "spool").iterdir()) == []  # nothing left to recover
    engine.dispose()


def bare_log(tmp_path: Path, **settings: Any) -> PredictionLog:
    """A prediction log on a fresh SQLite file, its writer not started."""
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    migrate(url)
    spool = tmp_path / "spool"
    config = Settings(_env_file=None, database_url=url, prediction_log_spool_dir=spool, **settings)
    return PredictionLog(make_engine(url), config, Metrics("test"))


def test_a_start_right_after_a_stop_keeps_a_writer(tmp_path: Path, example: Record) -> None:
    """A stop and a start meet in either order of the writer's decision to end: rows queued
    after the start are written either way."""
    log = bare_log(tmp_path)
    record = InputRecord.model_validate(example)
    log.start()
    first = log.thread
    with log.condition:
        log.stopping = True  # a stop, not yet seen by the writer
    log.start()  # comes first: the same writer goes on
    assert not log.may_end()
    assert log.thread is first
    log.stop()
    assert not first.is_alive()
    log.start()  # after the writer decided to end: another one
    assert log.thread is not first
    assert log.thread.is_alive()
    log.append(Answered("r", "test", [record], made_up_answers(), 1.0))
    assert log.flush(10)
    written = {"outcome": "written"}
    assert log.metrics.registry.get_sample_value("prediction_log_rows_total", written) == 1
    log.stop()


def test_an_outcome_for_a_prediction_not_logged_yet_is_asked_again(
    make_client: ClientFactory, example: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outcomes, "LOOKUP_SECONDS", 0.2)
    client = make_client()
    writer_of(client).stop()  # rows wait in the queue
    answer = client.post("/api/v1/predict", json={"records": [example]}).json()["predictions"][0]
    sent = feedback_for(answer)
    refused = client.post("/api/v1/feedback", json=sent)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "send the outcome again" in refused.json()["detail"]
    writer_of(client).start()
    assert client.post("/api/v1/feedback", json=sent).status_code == 201


def test_old_rows_are_purged(make_client: ClientFactory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'purge.sqlite3'}"
    migrate(url)
    engine = create_engine(url)
    old = datetime.now(UTC) - timedelta(days=40)
    with engine.begin() as connection:
        for day, name in ((old, "old"), (datetime.now(UTC), "new")):
            connection.execute(
                insert(predictions).values(
                    id=name,
                    request_id="r",
                    created_at=day,
                    model_version="0",
                    inputs={},
                    features={},
                    latency_ms=1.0,
                )
            )
    client = make_client(database_url=url, prediction_log_retention_days=30)
    writer_of(client).stop()  # the purge runs when the writer starts
    with engine.connect() as connection:
        left = [row.id for row in connection.execute(text("SELECT id FROM predictions"))]
    assert left == ["new"]


def test_the_log_can_be_turned_off(
    make_client: ClientFactory, example: Record, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'off.sqlite3'}"
    client = make_client(database_url=url, prediction_log=False)
    answer = client.post("/api/v1/predict", json={"records": [example]}).json()["predictions"][0]
    assert writer_of(client).flush(10)
    assert rows(url) == []
    sent = feedback_for(answer)
    assert client.post("/api/v1/feedback", json=sent).status_code == 404


KILLED_WORKER = """
import os, signal, sys
from pathlib import Path
from {{ cookiecutter.package_name }} import EXAMPLE_RECORD, InputRecord, make_prediction
from app.answers import answer_columns
from app.config import Settings
from app.db import make_engine
from app.metrics import Metrics
from app.middleware import MAX_REQUEST_ID_LENGTH
from app.prediction_log import Answered, PredictionLog

url, spool = sys.argv[1], Path(sys.argv[2])
settings = Settings(_env_file=None, database_url=url, prediction_log_spool_dir=spool)
log = PredictionLog(make_engine(url), settings, Metrics("test"))
records = [InputRecord.model_validate(EXAMPLE_RECORD)] * 3
result = make_prediction(records)
for request in range(int(sys.argv[3])):  # answered, the writer never started: all in the spool
    ids = log.append(Answered(f"r{request}", "test", records, answer_columns(result), 1.0))
    print(*ids, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_workers_rows_are_written_by_the_next_one(tmp_path: Path) -> None:
    """A worker killed with rows not yet written (SIGKILL: no shutdown at all) leaves them in its
    spool file; the next prediction log to start on that folder writes them, once."""
    log = bare_log(tmp_path)
    url = str(log.engine.url)
    spool = tmp_path / "spool"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER, url, str(spool), "40"],
        cwd=API_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    answered = killed.stdout.split()
    assert len(answered) == 120
    assert rows(url) == []
    log.start()
    assert log.flush(30)
    log.stop()
    assert sorted(row["id"] for row in rows(url)) == sorted(answered)
    assert log.metrics.registry.get_sample_value(
        "prediction_log_rows_total", {"outcome": "recovered"}
    ) == len(answered)
    assert list(spool.iterdir()) == []  # written: nothing left to recover
    again = bare_log(tmp_path)  # another start finds nothing to do
    again.start()
    again.stop()
    assert len(rows(url)) == len(answered)


def test_a_live_workers_spool_is_left_to_it(tmp_path: Path, example: Record) -> None:
    """Two logs on one folder, as two workers: neither takes the other's rows."""
    first, second = bare_log(tmp_path), bare_log(tmp_path)
    record = InputRecord.model_validate(example)
    first.append(Answered("r", "test", [record], made_up_answers(), 1.0))
    second.start()
    assert second.flush(10)
    assert second.queued == 0
    second.stop()
    assert rows(str(first.engine.url)) == []
    first.start()
    assert first.flush(10)
    first.stop()
    assert len(rows(str(first.engine.url))) == 1


def test_a_full_log_holds_the_request_then_refuses_it(
    make_client: ClientFactory, example: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PREDICTION_LOG_MAX_PENDING rows waiting, a prediction is not answered: it waits for
    room, then gets 503 with Retry-After, and is answered again once the rows are written."""
    monkeypatch.setattr(writer, "ROOM_WAIT_SECONDS", 0.3)
    client = make_client(prediction_log_max_pending=3, max_batch_size=3)
    writer_of(client).stop()  # the database falls behind: nothing is written
    body = {"records": [example, example]}
    first = client.post("/api/v1/predict", json=body)
    assert first.status_code == 200
    started = time.monotonic()
    refused = client.post("/api/v1/predict", json=body)
    assert time.monotonic() - started >= 0.3
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "PREDICTION_LOG_MAX_PENDING=3" in refused.json()["detail"]
    records = [InputRecord.model_validate(example)] * 2
    with pytest.raises(LogFullError):
        writer_of(client).append(Answered("r", "v", records, made_up_answers(2), 1))
    writer_of(client).start()
    assert client.post("/api/v1/predict", json=body).status_code == 200
    assert writer_of(client).flush(10)
    answered = {answer["prediction_id"] for answer in first.json()["predictions"]}
    assert answered <= {row["id"] for row in rows(Settings().database_url)}


def test_a_spool_that_cannot_be_written_refuses_the_prediction(
    make_client: ClientFactory, example: Record, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the spool's folder should be")
    client = make_client(prediction_log_spool_dir=blocked / "spool")
    refused = client.post("/api/v1/predict", json={"records": [example]})
    assert refused.status_code == 503
    assert "its spool cannot be written" in refused.json()["detail"]
    assert str(tmp_path) not in refused.text


def test_the_request_bound_leaves_room_for_the_largest_request() -> None:
    with pytest.raises(ValueError, match=r"PREDICTION_LOG_MAX_PENDING .* must be at least"):
        Settings(_env_file=None, prediction_log_max_pending=10, max_batch_size=20)


def test_the_id_columns_hold_every_id() -> None:
    """A request id of the longest kind the middleware takes, and a prediction id of the largest
    request, fit the log's id columns (PostgreSQL enforces their length; SQLite does not)."""
    longest_prediction_id = new_ids(Settings().max_batch_size)[-1]
    assert max(MAX_REQUEST_ID_LENGTH, len(longest_prediction_id)) <= ID_LENGTH


def test_a_sqlite_file_that_cannot_be_made_stops_the_start(tmp_path: Path) -> None:
    """One line and exit status 1, before any worker starts; importing the app made nothing."""
    blocked = tmp_path / "a-file"
    blocked.write_text("where the database's folder should be")
    started = subprocess.run(
        [sys.executable, "-m", "app.serve"],
        cwd=API_ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{blocked}/log.sqlite3", "PORT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    last = started.stderr.splitlines()[-1]
    assert last.startswith("app.serve: the prediction log's database (DATABASE_URL) cannot be")


def test_rows_whose_features_fail_are_written_without_them(tmp_path: Path, example: Record) -> None:
    """A record the package can no longer turn into features (a spool from before a deploy
    changed the model's inputs) is still a row; the others in its batch keep theirs."""
    log = bare_log(tmp_path)
    record = InputRecord.model_validate(example)
    nothing: dict[str, Any] = {}
    old = InputRecord.model_construct(**nothing)
    (good,) = log.append(Answered("good", "test", [record], made_up_answers(), 1))
    (kept,) = log.append(Answered("old", "test", [old], made_up_answers(), 1))
    log.start()
    assert log.flush(10)
    log.stop()
    found = {row["id"]: row for row in rows(str(log.engine.url))}
    assert set(found) == {good, kept}
    assert found[kept]["features"] == {}
    assert found[good]["features"]


def test_a_database_url_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL must be a SQLite file"):
        Settings(_env_file=None, database_url="mysql://host/name")
