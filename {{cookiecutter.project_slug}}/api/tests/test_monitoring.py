"""Live quality from the prediction log: the figures, their verdict and their gauges."""

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import ClientFactory, Record, feedback_for
from fastapi import FastAPI
from sqlalchemy import create_engine, insert

from {{ cookiecutter.package_name }} import (
    CLASSES,
    InputRecord,
    drift_report,
    load_model,
    model_features,
)

from app.answers import CLASSIFICATION, OUTCOME
from app.db import feedback, predictions
from app.monitoring import MINIMUM_DRIFT_ROWS, MINIMUM_OUTCOMES, wilson

classifier_only = pytest.mark.skipif(not CLASSIFICATION, reason="a classifier's figures")
regression_only = pytest.mark.skipif(CLASSIFICATION, reason="a regression's figures")


def test_wilson_interval() -> None:
    low, high = wilson(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)


@classifier_only
def test_quality_of_a_classifiers_outcomes(
    make_client: ClientFactory, example: Record, database_url: str
) -> None:
    client = make_client(database_url=database_url)
    total, right, wrong = 45, 28, 4  # outcomes: 32 in all, over MINIMUM_OUTCOMES
    answers = client.post("/api/v1/predict", json={"records": [example] * total}).json()
    predictions = answers["predictions"]
    version = answers["model_version"]
    chosen = []
    for index, answer in enumerate(predictions[: right + wrong]):
        other = next(name for name in CLASSES if name != answer["label"])
        outcome = answer["label"] if index < right else other
        sent = {"prediction_id": answer["prediction_id"], "label": outcome}
        assert client.post("/api/v1/feedback", json=sent).status_code == 201
        chosen.append(answer["probabilities"][outcome])

    report = client.get("/api/v1/monitoring/quality", params={"hours": 1}).json()
    assert report["minimum_outcomes"] == MINIMUM_OUTCOMES
    (entry,) = report["versions"]
    assert (entry["model_version"], entry["predictions"], entry["with_outcome"]) == (
        version,
        total,
        right + wrong,
    )
    assert entry["accuracy"]["value"] == pytest.approx(right / (right + wrong))
    low, high = wilson(right, right + wrong)
    assert (entry["accuracy"]["low"], entry["accuracy"]["high"]) == pytest.approx((low, high))
    expected_loss = -sum(math.log(max(p, 1e-6)) for p in chosen) / len(chosen)
    assert entry["log_loss"] == pytest.approx(expected_loss, rel=1e-4)
    assert entry["roc_auc"] == pytest.approx(0.5)  # one record, repeated: every score tied
    holdout = load_model().metrics.model_dump()
    assert entry["holdout"] == pytest.approx(
        {name: holdout[name] for name in ("accuracy", "log_loss", "roc_auc")}
    )
    worse = holdout["accuracy"] > high
    assert entry["verdict"] == ("worse than the holdout" if worse else "in line with the holdout")

    lines = client.get("/metrics").text.splitlines()
    version_label = f'model_version="{version}"'
    counted = [line for line in lines if line.startswith("model_live_predictions")]
    assert any('kind="with_outcome"' in line and version_label in line for line in counted)
    assert [line.split()[-1] for line in counted if 'kind="with_outcome"' in line] == ["32.0"]
    accuracy = [line for line in lines if line.startswith('model_live_quality{metric="accuracy"')]
    assert [float(line.split()[-1]) for line in accuracy] == pytest.approx([right / 32])


@regression_only
def test_quality_of_a_regressions_outcomes(
    make_client: ClientFactory, example: Record, database_url: str
) -> None:
    client = make_client(database_url=database_url)
    answers = client.post("/api/v1/predict", json={"records": [example] * 40}).json()
    predictions, version = answers["predictions"], answers["model_version"]
    half_width = predictions[0]["upper"] - predictions[0]["value"]
    # 36 outcomes: the first 30 inside the interval, the others twice its half width away.
    offsets = [half_width * (index % 7 - 3) / 4 for index in range(30)] + [2 * half_width] * 6
    for answer, offset in zip(predictions, offsets, strict=False):
        sent = {"prediction_id": answer["prediction_id"], "value": answer["value"] + offset}
        assert client.post("/api/v1/feedback", json=sent).status_code == 201

    (entry,) = client.get("/api/v1/monitoring/quality", params={"hours": 1}).json()["versions"]
    assert (entry["model_version"], entry["with_outcome"]) == (version, len(offsets))
    errors = [abs(offset) for offset in offsets]
    assert entry["mae"]["value"] == pytest.approx(sum(errors) / len(errors))
    rmse = math.sqrt(sum(error**2 for error in errors) / len(errors))
    assert entry["rmse"]["value"] == pytest.approx(rmse)
    for name in ("mae", "rmse"):  # a bootstrap interval around the figure, the same each time
        assert entry[name]["low"] < entry[name]["value"] < entry[name]["high"]
    again = client.get("/api/v1/monitoring/quality", params={"hours": 1}).json()["versions"][0]
    assert again == entry
    assert entry["interval_coverage"]["value"] == pytest.approx(30 / 36)
    low, high = wilson(30, 36)
    coverage = entry["interval_coverage"]
    assert (coverage["low"], coverage["high"]) == pytest.approx((low, high))
    holdout = load_model().metrics.model_dump()
    assert entry["holdout"] == pytest.approx(
        {name: holdout[name] for name in ("mae", "rmse", "interval_coverage")}
    )
    worse = holdout["mae"] < entry["mae"]["low"]
    assert entry["verdict"] == ("worse than the holdout" if worse else "in line with the holdout")
    assert entry["accuracy"] is None

    lines = client.get("/metrics").text.splitlines()
    mae = [line for line in lines if line.startswith('model_live_quality{metric="mae"')]
    assert [float(line.split()[-1]) for line in mae] == pytest.approx([entry["mae"]["value"]])


def test_few_outcomes_are_insufficient_data(make_client: ClientFactory, example: Record) -> None:
    client = make_client()
    answer = client.post("/api/v1/predict", json={"records": [example]}).json()["predictions"][0]
    assert client.post("/api/v1/feedback", json=feedback_for(answer)).status_code == 201
    report = client.get("/api/v1/monitoring/quality").json()
    assert all(entry["verdict"] == "insufficient data" for entry in report["versions"])
    assert client.get("/api/v1/monitoring/quality", params={"hours": 0}).status_code == 422


def test_drift_of_one_kind_of_record(
    make_client: ClientFactory, example: Record, database_url: str
) -> None:
    """The same record again and again is as shifted as a batch gets: every feature in one bin."""
    client = make_client(database_url=database_url)
    empty = client.get("/api/v1/monitoring/drift").json()
    assert (empty["rows"], empty["enough_data"], empty["report"]) == (0, False, None)

    count = MINIMUM_DRIFT_ROWS + 20
    answers = client.post("/api/v1/predict", json={"records": [example] * count}).json()
    predicted = [answer[OUTCOME] for answer in answers["predictions"]]
    assert isinstance(client.app, FastAPI)
    assert client.app.state.services.prediction_log.flush(10)
    answer = client.get("/api/v1/monitoring/drift", params={"hours": 1}).json()
    assert (answer["model_version"], answer["rows"], answer["enough_data"]) == (
        answers["model_version"],
        count,
        True,
    )
    dumped = [InputRecord.model_validate(example).model_dump(mode="json")] * count
    expected = drift_report(model_features(dumped), predicted).model_dump(mode="json")
    assert answer["report"] == expected
    statuses = {item["feature"]: item["status"] for item in answer["report"]["features"]}
    assert "drift" in statuses.values()

    lines = client.get("/metrics").text.splitlines()
    psi = [line for line in lines if line.startswith("model_feature_psi{")]
    assert len(psi) == len(statuses)
    assert any(line.startswith("model_prediction_psi{") for line in lines)


def test_the_monitoring_page_without_traffic(make_client: ClientFactory, tmp_path: Path) -> None:
    client = make_client(database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    page = client.get("/monitoring")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count("No data in this window yet.") == 3
    assert "<script" not in page.text
    assert client.get("/monitoring", params={"hours": -1}).status_code == 422


def test_the_monitoring_page_draws_the_log(
    make_client: ClientFactory, example: Record, database_url: str
) -> None:
    """The page's SQL (time buckets differ by database) on SQLite and PostgreSQL alike."""
    client = make_client(database_url=database_url)
    answers = client.post("/api/v1/predict", json={"records": [example] * 5}).json()
    for answer in answers["predictions"][:2]:
        assert client.post("/api/v1/feedback", json=feedback_for(answer)).status_code == 201
    assert isinstance(client.app, FastAPI)
    assert client.app.state.services.prediction_log.flush(10)
    page = client.get("/monitoring", params={"hours": 2}).text
    assert "No data in this window yet." not in page
    assert page.count('class="series"') == 3  # predictions, outcomes; quality of one version
    features = load_model().features
    assert page.count('class="bar"') == len(features.numeric) + len(features.categorical) + 1
    assert "fewer than 100 predictions" in page
    week = client.get("/monitoring", params={"hours": 24 * 7}).text  # buckets of a day
    assert week.count('class="series"') == 3


def test_a_log_kept_across_a_change_of_task(
    make_client: ClientFactory, example: Record, database_url: str
) -> None:
    """Rows that a model of the other task answered, with their outcomes, are left out of live
    quality, the gauges and the page; an outcome for one of them is refused with the reason."""
    client = make_client(database_url=database_url)
    answers = client.post("/api/v1/predict", json={"records": [example] * 3}).json()
    for sent in answers["predictions"]:
        assert client.post("/api/v1/feedback", json=feedback_for(sent)).status_code == 201
    answer: dict[str, Any]  # the other task's answer and outcome
    outcome: dict[str, Any]
    if CLASSIFICATION:
        answer, outcome = {"value": 2.5, "lower": 1.0, "upper": 4.0}, {"value": 3.0}
    else:
        answer, outcome = {"label": "a", "probabilities": {"a": 0.9, "b": 0.1}}, {"label": "a"}
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for index in range(MINIMUM_OUTCOMES):
            connection.execute(
                insert(predictions).values(
                    id=f"old-{index}",
                    request_id="old",
                    created_at=datetime.now(UTC),
                    model_version="0.0.1",
                    inputs={},
                    features={},
                    latency_ms=1.0,
                    **answer,
                )
            )
            connection.execute(
                insert(feedback).values(
                    prediction_id=f"old-{index}", created_at=datetime.now(UTC), **outcome
                )
            )
    engine.dispose()

    report = client.get("/api/v1/monitoring/quality", params={"hours": 1}).json()
    by_version = {entry["model_version"]: entry for entry in report["versions"]}
    assert by_version["0.0.1"]["with_outcome"] == 0
    assert by_version["0.0.1"]["verdict"] == "insufficient data"
    assert by_version[answers["model_version"]]["with_outcome"] == 3
    assert client.get("/metrics").status_code == 200
    page = client.get("/monitoring", params={"hours": 1})
    assert page.status_code == 200
    assert page.text.count('class="series"') == 3  # quality of the current version only

    refused = client.post("/api/v1/feedback", json={"prediction_id": "old-1", **outcome})
    assert refused.status_code == 422  # the other task's outcome field
    ours = {"prediction_id": "old-1", OUTCOME: answers["predictions"][0][OUTCOME]}
    refused = client.post("/api/v1/feedback", json=ours)
    assert refused.status_code == 409
    assert "a model of the other task" in refused.json()["detail"]
