"""Drift: how far live inputs and predictions have moved from the data the model learned from.

Training stores a compact profile of every model input (the configured features, engineered ones
included) in the metadata: ten quantile bins for a number plus one for missing, the share of each
category (rare ones pooled) for a category, and the share of each predicted class. No training row
ships in the wheel. `drift_report` compares live features (from `model_features`) with it by the
population stability index, PSI = sum((live - reference) * ln(live / reference)) over the bins.
"""

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .columns import MISSING, model_inputs, to_columns
from .config import Config, config
from .predict import load_model
from .results import DataProfile, DriftReport, FeatureDrift, FeatureProfile

NUMERIC_BINS = 10
RARE_SHARE = 0.01  # categories rarer than this in training are pooled as OTHER
OTHER = "(other)"
SHARE_FLOOR = 1e-4  # an empty bin counts as this share: ln(0) has no PSI
# PSI below STABLE: no meaningful change; from DRIFT up: the population has moved.
STABLE, DRIFT = 0.1, 0.25
PSI_THRESHOLDS = (STABLE, DRIFT)


def model_features(
    records: Sequence[Mapping[str, Any]], config: Config = config
) -> dict[str, list[Any]]:
    """The model's inputs for validated records (InputRecord.model_dump()s), one list per
    configured feature: numbers (None when missing) or category names. What the API logs."""
    numeric = config.features.numeric
    inputs = model_inputs(to_columns(records), numeric, config.features.categorical)
    features: dict[str, list[Any]] = {}
    for name, values in inputs.items():
        if name in numeric:
            column = values.astype(object)
            column[np.isnan(values)] = None
            features[name] = column.tolist()
        else:
            features[name] = [str(value) for value in values]
    return features


def _numeric_bins(values: npt.NDArray[np.float64], edges: list[float]) -> npt.NDArray[np.float64]:
    """Shares of the bins between the edges, then of missing values."""
    present = values[~np.isnan(values)]
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    shares = np.append(counts, np.isnan(values).sum()) / max(len(values), 1)
    return shares.astype(np.float64)


def _numeric_labels(edges: list[float]) -> list[str]:
    bounds = [-np.inf, *edges, np.inf]
    return [f"({low:g}, {high:g}]" for low, high in itertools.pairwise(bounds)] + [MISSING]


def _category_shares(values: Sequence[str], categories: list[str]) -> npt.NDArray[np.float64]:
    position = {name: index for index, name in enumerate(categories)}
    other = position[OTHER]
    counts = np.bincount(
        [position.get(value, other) for value in values], minlength=len(categories)
    )
    return (counts / max(len(values), 1)).astype(np.float64)


def build_profile(
    features: Mapping[str, Sequence[Any]], predicted: Sequence[str], config: Config = config
) -> DataProfile:
    """The reference profile of training inputs (model_features' shape) and predicted classes."""
    profiles = {}
    for name, raw in features.items():
        if name in config.features.numeric:
            values = np.array([np.nan if value is None else value for value in raw], dtype=float)
            present = values[~np.isnan(values)]
            quantiles = (
                np.quantile(present, np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1])
                if len(present)
                else np.array([])
            )
            edges = sorted({float(edge) for edge in quantiles})
            profiles[name] = FeatureProfile(
                kind="numeric",
                edges=edges,
                bins=_numeric_labels(edges),
                shares=_numeric_bins(values, edges).tolist(),
            )
        else:
            names, counts = np.unique(np.asarray(raw, dtype=str), return_counts=True)
            common = [
                str(n) for n, c in zip(names, counts, strict=True) if c / len(raw) >= RARE_SHARE
            ]
            categories = [*common, OTHER]
            profiles[name] = FeatureProfile(
                kind="categorical",
                bins=categories,
                shares=_category_shares([str(value) for value in raw], categories).tolist(),
            )
    classes = [str(name) for name in config.data.class_names]
    prediction_shares = _category_shares(list(predicted), [*classes, OTHER])[:-1]
    return DataProfile(
        rows=len(predicted),
        features=profiles,
        predictions=dict(zip(classes, prediction_shares.tolist(), strict=True)),
    )


def psi(reference: Sequence[float], live: Sequence[float]) -> float:
    expected = np.maximum(np.asarray(reference, dtype=float), SHARE_FLOOR)
    actual = np.maximum(np.asarray(live, dtype=float), SHARE_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def status(value: float) -> str:
    return "stable" if value < STABLE else "moderate drift" if value < DRIFT else "drift"


def compare(
    feature: str, kind: str, bins: list[str], reference: list[float], live: Any
) -> FeatureDrift:
    value = psi(reference, live)
    return FeatureDrift(
        feature=feature,
        kind=kind,
        psi=value,
        status=status(value),
        reference=dict(zip(bins, reference, strict=True)),
        live=dict(zip(bins, [float(share) for share in live], strict=True)),
    )


def drift_report(
    features: Mapping[str, Sequence[Any]],
    predicted: Sequence[str],
    profile: DataProfile | None = None,
) -> DriftReport:
    """PSI of each feature and of the predicted classes, live against the training profile (the
    loaded model's, unless given)."""
    profile = profile or load_model().profile
    if profile is None:
        raise ValueError("the model was trained without a data profile: train it again")
    report = []
    for name, reference in profile.features.items():
        raw = features.get(name, [])
        if reference.kind == "numeric":
            values = np.array([np.nan if value is None else value for value in raw], dtype=float)
            live = _numeric_bins(values, reference.edges)
        else:
            live = _category_shares([str(value) for value in raw], reference.bins)
        report.append(compare(name, reference.kind, reference.bins, reference.shares, live))
    classes = list(profile.predictions)
    shares = _category_shares(list(predicted), [*classes, OTHER])[:-1]
    predictions = compare(
        "predicted class", "categorical", classes, list(profile.predictions.values()), shares
    )
    return DriftReport(rows=len(predicted), features=report, predictions=predictions)
