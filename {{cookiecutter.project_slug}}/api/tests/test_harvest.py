"""The harvest (app/harvest.py): logged outcomes become the model's next training data."""

import csv
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import FIELDS, REQUIRED, ClientFactory, Record, field_options
from sqlalchemy import Engine, insert

from {{ cookiecutter.package_name }} import (
    CLASSES,
    EXAMPLE_RECORD,
    LOGGED_PROVENANCE,
    PERSONAL_FIELDS,
    TARGET,
    HarvestSummary,
    InputRecord,
)

from app.answers import CLASSIFICATION, OUTCOME
from app.config import Settings
from app.db import feedback, make_engine, migrate, predictions
from app.harvest import HarvestError, harvest, main, moment, personal_features, write


def engine_of(database_url: str) -> Engine:
    """The log's engine, its tables made (a SQLite file is made when a service first starts)."""
    url = Settings(_env_file=None, database_url=database_url).database_url
    migrate(url)
    return make_engine(url)


def distinct_records(count: int) -> list[Record]:
    """The example record, a bounded number field spread over its range: no two alike."""
    name, low, high = next(
        (name, option["minimum"], option.get("maximum", option["minimum"] + count))
        for name in FIELDS
        for option in field_options(name)
        if option.get("type") == "number" and "minimum" in option
    )
    return [{**EXAMPLE_RECORD, name: low + (high - low) * index / count} for index in range(count)]


def truth(index: int) -> Any:
    """Some outcome: a class, or a number."""
    return CLASSES[index % len(CLASSES)] if CLASSIFICATION else float(index)


def log_row(engine: Engine, row_id: str, inputs: Record, at: datetime, **outcome: Any) -> None:
    """A logged prediction written directly, with its outcome when one is given."""
    answer = {"label": CLASSES[0]} if CLASSIFICATION else {"value": 1.0}
    with engine.begin() as connection:
        connection.execute(
            insert(predictions).values(
                id=row_id,
                request_id="r",
                created_at=at,
                model_version="0.0.1",
                inputs=inputs,
                features={},
                latency_ms=1.0,
                **answer,
            )
        )
        if outcome:
            connection.execute(
                insert(feedback).values(prediction_id=row_id, created_at=at, **outcome)
            )


def test_a_served_log_becomes_one_row_per_record(
    make_client: ClientFactory, database_url: str, tmp_path: Path
) -> None:
    """2,000 predictions, 500 outcomes; 10 records sent again, with a later outcome each: merged
    when a hashed personal field tells who sent them, else kept apart."""
    client = make_client(database_url=database_url)
    records = distinct_records(2000)
    answered = client.post("/api/v1/predict", json={"records": records}).json()
    again = client.post("/api/v1/predict", json={"records": records[:10]}).json()["predictions"]
    for index, answer in enumerate(answered["predictions"][:500]):
        sent = {"prediction_id": answer["prediction_id"], OUTCOME: truth(index)}
        assert client.post("/api/v1/feedback", json=sent).status_code == 201
    for index, answer in enumerate(again):
        sent = {"prediction_id": answer["prediction_id"], OUTCOME: truth(index + 1)}
        assert client.post("/api/v1/feedback", json=sent).status_code == 201

    result = harvest(engine_of(database_url), None, None)
    merged = 10 if PERSONAL_FIELDS else 0
    assert (len(result.rows), result.duplicates, dict(result.left_out)) == (
        510 - merged,
        merged,
        {},
    )
    version = answered["model_version"]
    assert result.versions == {version: {"predictions": 2010, "outcomes": 510}}
    by_id = {row["prediction_id"]: row for row in result.rows}
    for index, answer in enumerate(again):  # the outcome that came last
        assert by_id[answer["prediction_id"]][TARGET] == truth(index + 1)
    if merged:
        assert not set(by_id) & {answer["prediction_id"] for answer in answered["predictions"][:10]}

    out = tmp_path / "logged.csv"
    write(result, out, datetime(2026, 1, 1, tzinfo=UTC), None)
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == [*InputRecord.model_fields, TARGET, *LOGGED_PROVENANCE]
    assert len(rows) == 510 - merged
    assert [row["predicted_at"] for row in rows] == sorted(row["predicted_at"] for row in rows)
    for name in PERSONAL_FIELDS:  # as the log keeps them: hashed
        assert all(row[name].startswith("hmac-sha256:") for row in rows)
    summary = HarvestSummary.model_validate_json(out.with_suffix(".json").read_bytes())
    assert (summary.rows, summary.duplicates_merged) == (510 - merged, merged)
    assert summary.csv_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert summary.since == datetime(2026, 1, 1, tzinfo=UTC)
    assert summary.versions[version].model_dump() == {"predictions": 2010, "outcomes": 510}


def test_rows_today_s_model_cannot_use_are_counted_by_reason(database_url: str) -> None:
    engine = engine_of(database_url)
    november, october = datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
    outcome = {OUTCOME: truth(0)}
    log_row(engine, "kept", EXAMPLE_RECORD, november, **outcome)
    log_row(engine, "late", EXAMPLE_RECORD, datetime(2026, 10, 31, 23, 30, tzinfo=UTC), **outcome)
    log_row(engine, "retired", {**EXAMPLE_RECORD, "retired_field": 1}, november, **outcome)
    other_task = {"value": 1.0} if CLASSIFICATION else {"label": "a class"}
    log_row(engine, "other-task", EXAMPLE_RECORD, november, **other_task)
    log_row(engine, "no-outcome", EXAMPLE_RECORD, november)
    log_row(engine, "october", EXAMPLE_RECORD, october, **outcome)

    since = moment("2026-11-01T01:00+02:00")  # 23:00 UTC on 31 October
    assert (since, since.tzinfo) == (datetime(2026, 10, 31, 23, tzinfo=UTC), UTC)
    result = harvest(engine, since, None)
    assert [row["prediction_id"] for row in result.rows] == ["late", "kept"]  # never merged:
    # EXAMPLE_RECORD's personal values are not hashed here, so nothing tells who sent them
    assert dict(result.left_out) == {
        "retired_field: Extra inputs are not permitted": 1,
        "an outcome of the other task (the log predates a change of task)": 1,
    }
    assert result.versions == {"0.0.1": {"predictions": 5, "outcomes": 4}}
    october_only = harvest(engine, october, since)
    assert [row["prediction_id"] for row in october_only.rows] == ["october"]


REQUIRED_PERSONAL = [name for name in PERSONAL_FIELDS if name in REQUIRED]


@pytest.mark.skipif(not REQUIRED_PERSONAL, reason="no personal field is required")
def test_required_fields_the_log_dropped_are_named(
    make_client: ClientFactory, database_url: str
) -> None:
    client = make_client(database_url=database_url, personal_data="drop")
    answer = client.post("/api/v1/predict", json={"records": [EXAMPLE_RECORD]}).json()
    sent = {"prediction_id": answer["predictions"][0]["prediction_id"], OUTCOME: truth(0)}
    assert client.post("/api/v1/feedback", json=sent).status_code == 201
    with pytest.raises(HarvestError) as refused:
        harvest(engine_of(database_url), None, None)
    dropped = ", ".join(REQUIRED_PERSONAL)
    assert f"1 x {dropped}: required, and not in the log (PERSONAL_DATA=drop)" in str(refused)


def test_another_model_s_log_and_an_empty_one_are_refused(database_url: str) -> None:
    engine = engine_of(database_url)
    with pytest.raises(HarvestError, match="no logged prediction in that time has an outcome"):
        harvest(engine, None, None)
    for index in range(3):
        inputs = {"bill_length_mm": 39.1 + index, "species_hint": "Adelie"}
        log_row(engine, f"theirs-{index}", inputs, datetime.now(UTC), **{OUTCOME: truth(0)})
    with pytest.raises(HarvestError, match="is DATABASE_URL this model's log") as refused:
        harvest(engine, None, None)
    assert "none of the 3 logged predictions with an outcome fits today's model" in str(refused)


def test_an_interrupted_harvest_leaves_the_last_one_whole(
    database_url: str, tmp_path: Path
) -> None:
    engine = engine_of(database_url)
    for index, record in enumerate(distinct_records(5)):
        log_row(engine, f"p{index}", record, datetime.now(UTC), **{OUTCOME: truth(index)})
    result = harvest(engine, None, None)
    (tmp_path / "datasets").mkdir()
    out = tmp_path / "datasets" / "logged.csv"
    write(result, out, None, None)
    before = out.read_bytes(), out.with_suffix(".json").read_bytes()
    result.rows = [*result.rows, {"a column nobody wrote": 1}]  # fails after five rows
    with pytest.raises(ValueError, match="fields not in fieldnames"):
        write(result, out, None, None)
    assert (out.read_bytes(), out.with_suffix(".json").read_bytes()) == before
    assert sorted(path.name for path in out.parent.iterdir()) == ["logged.csv", "logged.json"]


@pytest.mark.skipif(not personal_features(), reason="no feature is computed from a personal field")
def test_a_feature_of_a_personal_field_stops_the_harvest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example's title comes from name, which the log hashes: nothing is harvested."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'log.sqlite3'}")
    with pytest.raises(SystemExit) as stopped:
        main(["--out", str(tmp_path / "logged.csv")])
    message = str(stopped.value)
    assert all(name in message for name in [*personal_features(), *PERSONAL_FIELDS])
    assert "take them out of config.yml's features" in message
    assert list(tmp_path.iterdir()) == []
