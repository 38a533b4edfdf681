"""Live quality: the logged predictions that got an outcome, scored per model version.

Computed with numpy from the prediction log, for GET /api/v1/monitoring/quality and for /metrics
(model_live_* gauges, over the last QUALITY_GAUGE_HOURS). Below MINIMUM_OUTCOMES outcomes a
version's verdict is "insufficient data": a handful of outcomes says nothing either way.
"""

import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from {{ cookiecutter.package_name }} import CLASSES, ModelMetadata

from app.db import feedback, predictions
from app.schemas import Estimate, VersionQuality

MINIMUM_OUTCOMES = 30
QUALITY_GAUGE_HOURS = 24
PROBABILITY_FLOOR = 1e-6  # as the model package's holdout metrics: float32 noise below it
Z_95 = 1.959964


def wilson(successes: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    share = successes / total
    centre = share + Z_95**2 / (2 * total)
    spread = Z_95 * math.sqrt(share * (1 - share) / total + Z_95**2 / (4 * total**2))
    denominator = 1 + Z_95**2 / total
    return (centre - spread) / denominator, (centre + spread) / denominator


def roc_auc(hits: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]) -> float | None:
    """Mann-Whitney's AUC, ties counted half; None without both kinds of hit."""
    positives = int(hits.sum())
    negatives = len(hits) - positives
    if not positives or not negatives:
        return None
    order = np.argsort(scores, kind="mergesort")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)  # a run of ties shares its mean rank
    return float((ranks[hits].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def scores(
    predicted: Sequence[str], outcomes: Sequence[str], probabilities: Sequence[dict[str, float]]
) -> dict[str, float | None]:
    """Accuracy, log loss and ROC AUC (of the first class for two, else the macro average)."""
    truth = np.asarray(outcomes)
    matrix = np.array([[row.get(name, 0.0) for name in CLASSES] for row in probabilities])
    matrix = np.clip(matrix, PROBABILITY_FLOOR, 1.0)
    matrix /= matrix.sum(axis=1, keepdims=True)
    columns = {name: index for index, name in enumerate(CLASSES)}
    chosen = matrix[np.arange(len(truth)), [columns[label] for label in outcomes]]
    if len(CLASSES) == 2:
        auc = roc_auc(truth == CLASSES[0], matrix[:, 0])
    else:
        each = [roc_auc(truth == name, matrix[:, index]) for index, name in enumerate(CLASSES)]
        known = [value for value in each if value is not None]
        auc = float(np.mean(known)) if known else None
    return {
        "accuracy": float(np.mean(np.asarray(predicted) == truth)),
        "log_loss": float(-np.mean(np.log(chosen))),
        "roc_auc": auc,
    }


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
        totals = dict(connection.execute(counts).all())
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
            measured = scores(predicted, truth, probabilities)
            right = sum(p == t for p, t in zip(predicted, truth, strict=True))
            low, high = wilson(right, len(mine))
            entry.accuracy = Estimate(value=measured["accuracy"] or 0.0, low=low, high=high)
            entry.log_loss = measured["log_loss"]
            entry.roc_auc = measured["roc_auc"]
            if len(mine) >= MINIMUM_OUTCOMES:
                worse = holdout is not None and holdout["accuracy"] > high
                entry.verdict = "worse than the holdout" if worse else "in line with the holdout"
        report.append(entry)
    return report


class QualityCollector(Collector):
    """model_live_* gauges, read from the prediction log when /metrics is scraped."""

    def __init__(self, engine: Engine, served: Callable[[], ModelMetadata | None]) -> None:
        self.engine = engine
        self.served = served

    def collect(self) -> Iterator[GaugeMetricFamily]:
        since = datetime.now(UTC) - timedelta(hours=QUALITY_GAUGE_HOURS)
        try:
            report = quality(self.engine, since, self.served())
        except SQLAlchemyError:
            return  # the database is away: no live figures, rather than a failed scrape
        counts = GaugeMetricFamily(
            "model_live_predictions",
            f"Predictions and those with an outcome, last {QUALITY_GAUGE_HOURS} h.",
            labels=["model_version", "kind"],
        )
        measured = GaugeMetricFamily(
            "model_live_quality",
            f"Accuracy, log loss and ROC AUC on outcomes of the last {QUALITY_GAUGE_HOURS} h.",
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
