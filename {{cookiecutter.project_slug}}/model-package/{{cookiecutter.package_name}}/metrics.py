"""Holdout metrics of a classifier (what training records and the card shows), and the promotion
gate's comparison of two models by them."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline

from .config import Config, config
from .predict import PROBABILITY_FLOOR
from .results import GateComparison, HoldoutMetrics


def score(
    pipeline: Pipeline, inputs: pd.DataFrame, labels: Sequence[str], config: Config = config
) -> HoldoutMetrics:
    """Holdout scores of a fitted pipeline (see holdout_metrics)."""
    classes = [str(name) for name in pipeline.classes_]
    return holdout_metrics(labels, pipeline.predict_proba(inputs), classes, config)


def holdout_metrics(
    labels: Sequence[str],
    probabilities: npt.NDArray[Any],
    classes: Sequence[str],
    config: Config = config,
) -> HoldoutMetrics:
    """Scores from class probabilities (columns in `classes` order); the label is the most
    probable class. Two classes: of the positive class (listed first in config.yml). More: macro
    averages, ROC AUC one-vs-rest. The gate scores both models it compares with this."""
    # scikit-learn's metrics take the columns in sorted class order, summing to 1 in float64.
    # Served probabilities are float32 (ONNX): below PROBABILITY_FLOOR they are rounding noise,
    # which log loss would otherwise score anywhere between 14 and 36 nats a record.
    order = np.argsort(classes)
    classes = [classes[index] for index in order]
    probabilities = np.asarray(probabilities, dtype=np.float64)[:, order]
    probabilities = np.clip(probabilities, PROBABILITY_FLOOR, 1.0)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    truth = np.asarray(labels)
    averaged: dict[str, Any]
    if len(classes) == 2:
        positive = config.data.class_names[0]
        roc_auc = roc_auc_score(truth == positive, probabilities[:, classes.index(positive)])
        averaged = {"average": "binary", "pos_label": positive}
    else:
        roc_auc = roc_auc_score(truth, probabilities, multi_class="ovr", labels=classes)
        averaged = {"average": "macro", "labels": classes}
    return HoldoutMetrics(
        accuracy=accuracy_score(truth, predicted),
        roc_auc=roc_auc,
        precision=precision_score(truth, predicted, zero_division=0, **averaged),
        recall=recall_score(truth, predicted, zero_division=0, **averaged),
        f1=f1_score(truth, predicted, zero_division=0, **averaged),
        log_loss=log_loss(truth, probabilities, labels=classes),
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
