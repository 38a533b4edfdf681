"""A classifier's accuracy, log loss and ROC AUC from class probabilities, and a regression's
errors and interval coverage, in numpy alone: training's holdout metrics (metrics.py) and a
service's live quality are one computation. scikit-learn is their oracle
(tests/model/test_scores.py)."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# Served probabilities are float32 (ONNX): below this they are rounding noise, which log loss
# would score anywhere between 14 and 36 nats a record.
PROBABILITY_FLOOR = 1e-6


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


def classification_scores(
    truth: Sequence[str], probabilities: npt.ArrayLike, classes: Sequence[str]
) -> dict[str, Any]:
    """Accuracy of the most probable class, log loss, and ROC AUC: of the first of `classes` for
    two classes, else the mean over the classes one-vs-rest (those seen both ways; None when
    none is). The columns of `probabilities` are in `classes` order; each row is clipped to
    PROBABILITY_FLOOR and renormalised."""
    matrix = np.clip(np.asarray(probabilities, dtype=np.float64), PROBABILITY_FLOOR, 1.0)
    matrix /= matrix.sum(axis=1, keepdims=True)
    actual = np.asarray(truth)
    columns = {name: index for index, name in enumerate(classes)}
    chosen = matrix[np.arange(len(actual)), [columns[label] for label in truth]]
    if len(classes) == 2:
        auc = roc_auc(actual == classes[0], matrix[:, 0])
    else:
        each = [roc_auc(actual == name, matrix[:, index]) for index, name in enumerate(classes)]
        known = [value for value in each if value is not None]
        auc = float(np.mean(known)) if known else None
    return {
        "accuracy": float(np.mean(np.asarray(classes)[matrix.argmax(axis=1)] == actual)),
        "log_loss": float(-np.mean(np.log(chosen))),
        "roc_auc": auc,
    }


def regression_scores(
    truth: npt.ArrayLike, predicted: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike
) -> dict[str, float]:
    """Mean and median absolute error, root mean squared error and R² of predicted values, and
    the share of true values inside their intervals [lower, upper] and the intervals' mean width.
    R² is 0 for a prediction as good as the mean of `truth`; with a single value it is NaN."""
    actual = np.asarray(truth, dtype=np.float64)
    errors = actual - np.asarray(predicted, dtype=np.float64)
    low, high = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    spread = float(np.sum((actual - actual.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "r2": 1 - float(np.sum(errors**2)) / spread if spread else float("nan"),
        "median_absolute_error": float(np.median(np.abs(errors))),
        "interval_coverage": float(np.mean((low <= actual) & (actual <= high))),
        "interval_width": float(np.mean(high - low)),
    }
