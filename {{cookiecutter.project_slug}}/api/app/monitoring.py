"""Live quality and drift, from the prediction log, with numpy.

Quality: the logged predictions that got an outcome, scored per model version, for
GET /api/v1/monitoring/quality. Below MINIMUM_OUTCOMES outcomes a version's verdict is
"insufficient data": a handful of outcomes says nothing either way.

Drift: the served version's logged features and predicted classes against the training profile
in its metadata (the model package's drift_report: PSI), for GET /api/v1/monitoring/drift. Below
MINIMUM_DRIFT_ROWS rows the PSI is noise, and the answer says so.

/metrics exports both over the last GAUGE_HOURS: model_live_* and model_*_psi gauges.
"""

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from {{ cookiecutter.package_name }} import (
    CLASSES,
    DriftReport,
    ModelMetadata,
    classification_scores,
    drift_report,
)

from app.db import feedback, predictions
from app.schemas import DriftAnswer, Estimate, VersionQuality

MINIMUM_OUTCOMES = 30
MINIMUM_DRIFT_ROWS = 100
# Drift is measured on at most the newest this many predictions of the window: plenty for ten bins,
# and a /metrics scrape (which measures it) stays cheap however busy the day was.
DRIFT_MAX_ROWS = 10_000
GAUGE_HOURS = 24
Z_95 = 1.959964


def wilson(successes: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    share = successes / total
    centre = share + Z_95**2 / (2 * total)
    spread = Z_95 * math.sqrt(share * (1 - share) / total + Z_95**2 / (4 * total**2))
    denominator = 1 + Z_95**2 / total
    return (centre - spread) / denominator, (centre + spread) / denominator


def quality(engine: Engine, since: datetime, served: ModelMetadata | None) -> list[VersionQuality]:
    """Per model version with predictions since `since`, newest version first."""
    counts = (
        select(predictions.c.model_version, func.count())
        .where(predictions.c.created_at >= since)
        .group_by(predictions.c.model_version)
    )
    answered = (
        select(
            predictions.c.model_version,
            predictions.c.label,
            predictions.c.probabilities,
            feedback.c.label,
        )
        .join(feedback, feedback.c.prediction_id == predictions.c.id)
        .where(predictions.c.created_at >= since)
    )
    with engine.connect() as connection:
        totals: dict[str, int] = {version: count for version, count in connection.execute(counts)}
        rows = connection.execute(answered).all()
    outcomes: dict[str, list[Any]] = {}
    for version, label, probabilities, outcome in rows:
        outcomes.setdefault(version, []).append((label, outcome, probabilities))
    report = []
    for version in sorted(totals, reverse=True):
        mine = outcomes.get(version, [])
        holdout = None
        if served is not None and served.version == version:
            holdout = served.metrics.model_dump(include={"accuracy", "log_loss", "roc_auc"})
        entry = VersionQuality(
            model_version=version,
            predictions=totals[version],
            with_outcome=len(mine),
            holdout=holdout,
            verdict="insufficient data",
        )
        if mine:
            predicted, truth, probabilities = zip(*mine, strict=True)
            matrix = [[row.get(name, 0.0) for name in CLASSES] for row in probabilities]
            measured = classification_scores(truth, matrix, CLASSES)
            right = sum(p == t for p, t in zip(predicted, truth, strict=True))
            low, high = wilson(right, len(mine))
            entry.accuracy = Estimate(value=right / len(mine), low=low, high=high)
            entry.log_loss = measured["log_loss"]
            entry.roc_auc = measured["roc_auc"]
            if len(mine) >= MINIMUM_OUTCOMES:
                worse = holdout is not None and holdout["accuracy"] > high
                entry.verdict = "worse than the holdout" if worse else "in line with the holdout"
        report.append(entry)
    return report


def drift(engine: Engine, since: datetime, served: ModelMetadata) -> DriftAnswer:
    """The served version's predictions since `since` (the newest DRIFT_MAX_ROWS), against its
    training profile."""
    query = (
        select(predictions.c.features, predictions.c.label)
        .where(predictions.c.created_at >= since, predictions.c.model_version == served.version)
        .order_by(predictions.c.created_at.desc())
        .limit(DRIFT_MAX_ROWS)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    names = list(served.profile.features) if served.profile else []
    features = {name: [row.features.get(name) for row in rows] for name in names}
    report: DriftReport | None = None
    if served.profile is not None and rows:
        report = drift_report(features, [row.label for row in rows], served.profile)
    return DriftAnswer(
        since=since,
        model_version=served.version,
        rows=len(rows),
        minimum_rows=MINIMUM_DRIFT_ROWS,
        enough_data=len(rows) >= MINIMUM_DRIFT_ROWS,
        report=report,
    )


class QualityCollector(Collector):
    """model_live_* and model_*_psi gauges, read from the prediction log when /metrics is
    scraped."""

    def __init__(self, engine: Engine, served: Callable[[], ModelMetadata | None]) -> None:
        self.engine = engine
        self.served = served

    def collect(self) -> Iterator[GaugeMetricFamily]:
        since = datetime.now(UTC) - timedelta(hours=GAUGE_HOURS)
        served = self.served()
        try:
            report = quality(self.engine, since, served)
            drifted = drift(self.engine, since, served) if served else None
        except SQLAlchemyError:
            return  # the database is away: no live figures, rather than a failed scrape
        counts = GaugeMetricFamily(
            "model_live_predictions",
            f"Predictions and those with an outcome, last {GAUGE_HOURS} h.",
            labels=["model_version", "kind"],
        )
        measured = GaugeMetricFamily(
            "model_live_quality",
            f"Accuracy, log loss and ROC AUC on outcomes of the last {GAUGE_HOURS} h.",
            labels=["model_version", "metric"],
        )
        for entry in report:
            counts.add_metric([entry.model_version, "all"], entry.predictions)
            counts.add_metric([entry.model_version, "with_outcome"], entry.with_outcome)
            figures = {
                "accuracy": entry.accuracy.value if entry.accuracy else None,
                "log_loss": entry.log_loss,
                "roc_auc": entry.roc_auc,
            }
            for metric, value in figures.items():
                if value is not None:
                    measured.add_metric([entry.model_version, metric], value)
        yield counts
        yield measured
        if drifted is None or drifted.report is None:
            return
        features = GaugeMetricFamily(
            "model_feature_psi",
            f"PSI of each model input: the newest {DRIFT_MAX_ROWS} predictions of the last "
            f"{GAUGE_HOURS} h at most, against training.",
            labels=["model_version", "feature"],
        )
        for item in drifted.report.features:
            features.add_metric([drifted.model_version, item.feature], item.psi)
        yield features
        classes = GaugeMetricFamily(
            "model_prediction_psi",
            f"PSI of the predicted classes: the newest {DRIFT_MAX_ROWS} predictions of the last "
            f"{GAUGE_HOURS} h at most, against training.",
            labels=["model_version"],
        )
        classes.add_metric([drifted.model_version], drifted.report.predictions.psi)
        yield classes
