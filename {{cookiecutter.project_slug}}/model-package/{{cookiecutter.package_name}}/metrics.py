"""Holdout metrics of a classifier or a regression (what training records and the card shows),
and the promotion gate's comparison of two models by them."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.pipeline import Pipeline

from .config import Config, config
from .results import (
    ClassificationMetrics,
    GateComparison,
    HoldoutMetrics,
    Interval,
    RegressionMetrics,
)
from .scores import classification_scores, regression_scores


def score(
    pipeline: Pipeline,
    inputs: pd.DataFrame,
    targets: Sequence[Any],
    interval: Interval | None,
    config: Config = config,
) -> HoldoutMetrics:
    """Holdout scores of a fitted pipeline: a classifier's (holdout_metrics), or a regression's
    (regression_scores) with its interval, each value plus or minus its half width."""
    if interval is not None:
        values = np.asarray(pipeline.predict(inputs), dtype=np.float64).ravel()
        low, high = values - interval.half_width, values + interval.half_width
        return RegressionMetrics(**regression_scores(targets, values, low, high))
    classes = [str(name) for name in pipeline.classes_]
    return holdout_metrics(targets, pipeline.predict_proba(inputs), classes, config)


def holdout_metrics(
    labels: Sequence[str],
    probabilities: npt.NDArray[Any],
    classes: Sequence[str],
    config: Config = config,
) -> ClassificationMetrics:
    """Scores from class probabilities (columns in `classes` order); the label is the most
    probable class. Accuracy, log loss and ROC AUC as a service measures them live
    (scores.py); two classes: of the positive class (listed first in config.yml), more: macro
    averages. The gate scores both models it compares with this."""
    names = list(config.data.class_names)  # config.yml's order: its first is the positive class
    matrix = np.asarray(probabilities, dtype=np.float64)[:, [list(classes).index(n) for n in names]]
    scored = classification_scores(labels, matrix, names)
    if scored["roc_auc"] is None:
        raise ValueError("the holdout holds a single class: ROC AUC needs both kinds of outcome")
    predicted = np.asarray(names)[matrix.argmax(axis=1)]
    truth = np.asarray(labels)
    averaged: dict[str, Any] = (
        {"average": "binary", "pos_label": names[0]}
        if len(names) == 2
        else {"average": "macro", "labels": sorted(names)}
    )
    return ClassificationMetrics(
        accuracy=scored["accuracy"],
        roc_auc=scored["roc_auc"],
        precision=precision_score(truth, predicted, zero_division=0, **averaged),
        recall=recall_score(truth, predicted, zero_division=0, **averaged),
        f1=f1_score(truth, predicted, zero_division=0, **averaged),
        log_loss=scored["log_loss"],
    )


def gate_comparisons(
    published: HoldoutMetrics, candidate: HoldoutMetrics, config: Config = config
) -> list[GateComparison]:
    """The promotion gate, metric by metric of config.yml's gate section: the candidate passes a
    metric when it is worse than the published model by at most that metric's tolerance."""
    old, new = published.model_dump(), candidate.model_dump()
    return [
        GateComparison(
            metric=metric,
            published=old[metric],
            candidate=new[metric],
            tolerance=tolerance,
            passed=config.gate.worse_by(metric, old[metric], new[metric]) <= tolerance + 1e-12,
        )
        for metric, tolerance in config.gate.metrics.items()
    ]
