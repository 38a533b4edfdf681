"""Accuracy, log loss and ROC AUC from class probabilities, in numpy alone: training's holdout
metrics (metrics.py) and a service's live quality are one computation. scikit-learn is its
oracle (tests/model/test_scores.py)."""

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
