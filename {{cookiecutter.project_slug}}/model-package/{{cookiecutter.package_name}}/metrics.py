"""Holdout metrics of a classifier or a regression (what training records and the card shows),
and the evaluate stage's plot data."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import f1_score, precision_score, recall_score, roc_curve
from sklearn.pipeline import Pipeline

from .card import CALIBRATION_BINS, calibration_inputs
from .config import Config, config
from .results import (
    ClassificationMetrics,
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


def plot_tables(
    pipeline: Any, inputs: pd.DataFrame, labels: Sequence[str], config: Config = config
) -> dict[str, pd.DataFrame]:
    """A classifier's plot data: ROC, calibration and confusion on the holdout. Two classes: the
    positive class's ROC curve and calibration. More: one-vs-rest ROC pooled over the classes,
    and the calibration of the most probable class."""
    probabilities = pipeline.predict_proba(inputs)
    classes = [str(name) for name in pipeline.classes_]
    truth = np.asarray(labels)
    positive = config.data.class_names[0]
    if len(classes) == 2:
        hits, scores = truth == positive, probabilities[:, classes.index(positive)]
    else:
        hits = (truth[:, None] == np.asarray(classes)[None, :]).ravel()
        scores = probabilities.ravel()
    calibration_hits, calibration_scores = calibration_inputs(
        truth, probabilities, classes, positive
    )
    fpr, tpr, _ = roc_curve(hits, scores)
    observed, expected = calibration_curve(
        calibration_hits, calibration_scores, n_bins=CALIBRATION_BINS
    )
    return {
        "roc.csv": pd.DataFrame({"fpr": fpr, "tpr": tpr}),
        "calibration.csv": pd.DataFrame({"predicted": expected, "observed": observed}),
        "confusion.csv": pd.DataFrame({"actual": truth, "predicted": pipeline.predict(inputs)}),
    }


def value_plot_tables(
    pipeline: Any, inputs: pd.DataFrame, targets: Sequence[float], config: Config = config
) -> dict[str, pd.DataFrame]:
    """A regression's plot data: each holdout row's actual and predicted value, and residual."""
    predicted = np.asarray(pipeline.predict(inputs), dtype=np.float64).ravel()
    actual = np.asarray(targets, dtype=np.float64)
    table = {"actual": actual, "predicted": predicted, "residual": actual - predicted}
    return {"predictions.csv": pd.DataFrame(table)}
