"""Live quality and drift, from the prediction log, with numpy.

Quality: the logged predictions that got an outcome, scored per model version (a classifier's
accuracy, log loss and ROC AUC; a regression's MAE, RMSE and interval coverage), for
GET /api/v1/monitoring/quality. Below MINIMUM_OUTCOMES outcomes a version's verdict is
"insufficient data": a handful of outcomes says nothing either way.

Drift: the served version's logged features and predictions against the training profile
in its metadata (the model package's drift_report: PSI), for GET /api/v1/monitoring/drift. Below
MINIMUM_DRIFT_ROWS rows the PSI is noise, and the answer says so.

/metrics exports both over the last GAUGE_HOURS: model_live_* and model_*_psi gauges.
"""

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
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
    regression_scores,
)

from app.answers import ANSWER_COLUMNS, CLASSIFICATION, OUTCOME
from app.db import feedback, predictions
from app.schemas import DriftAnswer, Estimate, VersionQuality

MINIMUM_OUTCOMES = 30
WORSE: Final = "worse than the holdout"
IN_LINE: Final = "in line with the holdout"
MINIMUM_DRIFT_ROWS = 100
# Drift is measured on at most the newest this many predictions of the window: plenty for ten bins,
# and a /metrics scrape (which measures it) stays cheap however busy the day was.
DRIFT_MAX_ROWS = 10_000
GAUGE_HOURS = 24
Z_95 = 1.959964
BOOTSTRAP_ROUNDS, BOOTSTRAP_CHUNK = 1_000, 100
# The live figures, each beside its holdout value: a classifier's, or a regression's.
LIVE_FIGURES = (
    ("accuracy", "log_loss", "roc_auc") if CLASSIFICATION else ("mae", "rmse", "interval_coverage")
)


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
        .where(predictions.c.created_at >= since, predictions.c.role == "champion")
        .group_by(predictions.c.model_version)
    )
    answered = (
        select(
            predictions.c.model_version,
            *(predictions.c[name] for name in ANSWER_COLUMNS),
            feedback.c[OUTCOME],
        )
        .join(feedback, feedback.c.prediction_id == predictions.c.id)
        .where(
            predictions.c.created_at >= since,
            # a log kept across a change of task holds the other task's rows: not comparable
            predictions.c[OUTCOME].is_not(None),
            feedback.c[OUTCOME].is_not(None),
        )
    )
    with engine.connect() as connection:
        totals: dict[str, int] = {version: count for version, count in connection.execute(counts)}
        rows = connection.execute(answered).all()
    outcomes: dict[str, list[Any]] = {}
    for version, *answer_and_outcome in rows:
        outcomes.setdefault(version, []).append(answer_and_outcome)
    report = []
    for version in sorted(totals, reverse=True):
        mine = outcomes.get(version, [])
        holdout = None
        if served is not None and served.version == version:
            holdout = served.metrics.model_dump(include=set(LIVE_FIGURES))
        entry = VersionQuality(
            model_version=version,
            predictions=totals[version],
            with_outcome=len(mine),
            holdout=holdout,
            verdict="insufficient data",
        )
        if mine:
            worse = (class_quality if CLASSIFICATION else value_quality)(entry, mine, holdout)
            if len(mine) >= MINIMUM_OUTCOMES:
                entry.verdict = WORSE if worse else IN_LINE
        report.append(entry)
    return report


def class_quality(entry: VersionQuality, rows: list[Any], holdout: dict[str, float] | None) -> bool:
    """A classifier's live figures into `entry`; whether its accuracy is surely below the
    holdout's (the holdout's above the live accuracy's interval)."""
    predicted, probabilities, truth = zip(*rows, strict=True)
    matrix = [[row.get(name, 0.0) for name in CLASSES] for row in probabilities]
    measured = classification_scores(truth, matrix, CLASSES)
    right = sum(p == t for p, t in zip(predicted, truth, strict=True))
    low, high = wilson(right, len(rows))
    entry.accuracy = Estimate(value=right / len(rows), low=low, high=high)
    entry.log_loss = measured["log_loss"]
    entry.roc_auc = measured["roc_auc"]
    return holdout is not None and holdout["accuracy"] > high


def value_quality(entry: VersionQuality, rows: list[Any], holdout: dict[str, float] | None) -> bool:
    """A regression's live figures into `entry`; whether its MAE is surely above the holdout's
    (the holdout's below the live MAE's interval)."""
    values, lower, upper, truth = np.asarray(rows, dtype=np.float64).T
    measured = regression_scores(truth, values, lower, upper)
    errors = truth - values
    inside = int(np.sum((lower <= truth) & (truth <= upper)))
    entry.mae = Estimate(value=measured["mae"], **bootstrap(np.abs(errors), np.mean))
    entry.rmse = Estimate(
        value=measured["rmse"], **bootstrap(errors**2, lambda x, axis: np.sqrt(np.mean(x, axis)))
    )
    low, high = wilson(inside, len(rows))
    entry.interval_coverage = Estimate(value=inside / len(rows), low=low, high=high)
    return holdout is not None and holdout["mae"] < entry.mae.low


def bootstrap(sample: npt.NDArray[np.float64], statistic: Any) -> dict[str, float]:
    """The 95% percentile interval of statistic(sample), over BOOTSTRAP_ROUNDS resamples drawn
    with a fixed seed: the same outcomes always give the same interval."""
    generator = np.random.default_rng(0)
    estimates = [
        statistic(sample[generator.integers(0, len(sample), (rounds, len(sample)))], axis=1)
        for rounds in [BOOTSTRAP_CHUNK] * (BOOTSTRAP_ROUNDS // BOOTSTRAP_CHUNK)
    ]
    low, high = np.percentile(np.concatenate(estimates), [2.5, 97.5])
    return {"low": float(low), "high": float(high)}


def drift(engine: Engine, since: datetime, served: ModelMetadata) -> DriftAnswer:
    """The served version's predictions since `since` (the newest DRIFT_MAX_ROWS), against its
    training profile."""
    query = (
        select(predictions.c.features, predictions.c[OUTCOME].label("predicted"))
        .where(
            predictions.c.created_at >= since,
            predictions.c.model_version == served.version,
            predictions.c.role == "champion",  # its shadow rows from before a promotion aside
            predictions.c[OUTCOME].is_not(None),
        )
        .order_by(predictions.c.created_at.desc())
        .limit(DRIFT_MAX_ROWS)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    names = list(served.profile.features) if served.profile else []
    features = {name: [row.features.get(name) for row in rows] for name in names}
    report: DriftReport | None = None
    if served.profile is not None and rows:
        report = drift_report(features, [row.predicted for row in rows], served.profile)
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
            f"{', '.join(LIVE_FIGURES)} on outcomes of the last {GAUGE_HOURS} h.",
            labels=["model_version", "metric"],
        )
        worse = GaugeMetricFamily(
            "model_live_worse_than_holdout",
            f"1 when a version's verdict on the last {GAUGE_HOURS} h is '{WORSE}'.",
            labels=["model_version"],
        )
        for entry in report:
            worse.add_metric([entry.model_version], entry.verdict == WORSE)
            counts.add_metric([entry.model_version, "all"], entry.predictions)
            counts.add_metric([entry.model_version, "with_outcome"], entry.with_outcome)
            for metric in LIVE_FIGURES:
                value = getattr(entry, metric)
                if isinstance(value, Estimate):
                    value = value.value
                if value is not None:
                    measured.add_metric([entry.model_version, metric], value)
        yield counts
        yield measured
        yield worse
        if drifted is None or drifted.report is None or not drifted.enough_data:
            return  # below MINIMUM_DRIFT_ROWS the PSI is noise: no gauge, so no alert on it
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
            f"PSI of the predictions (classes, or value bins): the newest {DRIFT_MAX_ROWS} "
            f"predictions of the last {GAUGE_HOURS} h at most, against training.",
            labels=["model_version"],
        )
        classes.add_metric([drifted.model_version], drifted.report.predictions.psi)
        yield classes
