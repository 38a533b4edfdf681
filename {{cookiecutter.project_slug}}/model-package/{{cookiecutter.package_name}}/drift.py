"""Drift: how far live inputs and predictions have moved from the data the model learned from.

Training stores a compact profile of every model input (the configured features, engineered ones
included) in the metadata: NUMERIC_BINS quantile bins for a number plus one for missing, the
share of each category (rare ones pooled) for a category, and the share of each predicted class
(or the quantile bins of values predicted for rows the model did not train on). No training
row ships in the wheel. `drift_report` compares live features (from `model_features`) and
predictions with it by the population stability index,
PSI = sum((live - reference) * ln(live / reference)) over the bins.
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


def _bin_indices(edges: list[float], numbers: Any) -> npt.NDArray[np.intp]:
    """Each number's bin between the edges: bin i holds (edges[i - 1], edges[i]]."""
    return np.asarray(np.searchsorted(edges, numbers, side="left"), dtype=np.intp)


def _numeric_bins(values: npt.NDArray[np.float64], edges: list[float]) -> npt.NDArray[np.float64]:
    """Shares of the bins between the edges, then of missing values."""
    present = values[~np.isnan(values)]
    counts = np.bincount(_bin_indices(edges, present), minlength=len(edges) + 1)
    shares = np.append(counts, np.isnan(values).sum()) / max(len(values), 1)
    return shares.astype(np.float64)


def _numeric_labels(edges: list[float]) -> list[str]:
    bounds = [-np.inf, *edges, np.inf]
    return [f"({low:g}, {high:g}]" for low, high in itertools.pairwise(bounds)] + [MISSING]


def _category_shares(values: Sequence[str], categories: list[str]) -> npt.NDArray[np.float64]:
    """Shares of the categories; a value of none counts as OTHER, when it is one of them."""
    position = {name: index for index, name in enumerate(categories)}
    other = position.get(OTHER, len(categories))
    counts = np.bincount(
        [position.get(value, other) for value in values], minlength=len(categories) + 1
    )
    return (counts[: len(categories)] / max(len(values), 1)).astype(np.float64)


def _numbers(raw: Sequence[Any]) -> npt.NDArray[np.float64]:
    return np.array([np.nan if value is None else value for value in raw], dtype=np.float64)


def _profile(kind: str, raw: Sequence[Any]) -> FeatureProfile:
    """Numbers: NUMERIC_BINS quantile bins, then missing. Categories: the common ones, then all
    others pooled."""
    if kind == "numeric":
        values = _numbers(raw)
        present = values[~np.isnan(values)]
        quantiles = (
            np.quantile(present, np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1])
            if len(present)
            else np.array([])
        )
        edges = sorted({float(edge) for edge in quantiles})
        shares = _numeric_bins(values, edges).tolist()
        labels = _numeric_labels(edges)
        return FeatureProfile(kind="numeric", edges=edges, bins=labels, shares=shares)
    names, counts = np.unique(np.asarray(raw, dtype=str), return_counts=True)
    common = [str(n) for n, c in zip(names, counts, strict=True) if c / len(raw) >= RARE_SHARE]
    categories = [*common, OTHER]
    shares = _category_shares([str(value) for value in raw], categories).tolist()
    return FeatureProfile(kind="categorical", bins=categories, shares=shares)


def _live_shares(reference: FeatureProfile, raw: Sequence[Any]) -> npt.NDArray[np.float64]:
    """Live values' shares of the reference's bins."""
    if reference.kind == "numeric":
        return _numeric_bins(_numbers(raw), reference.edges)
    return _category_shares([str(value) for value in raw], reference.bins)


def value_bins(values: Sequence[float], profile: FeatureProfile) -> list[str]:
    """Each predicted value's bin of a numeric profile (a regression's predictions), as
    drift_report counts it."""
    return [profile.bins[index] for index in _bin_indices(profile.edges, values)]


def build_profile(
    features: Mapping[str, Sequence[Any]], predicted: Sequence[Any], config: Config = config
) -> DataProfile:
    """The reference profile of training inputs (model_features' shape) and of the predictions:
    the predicted classes' shares, or the predicted values' quantile bins."""
    profiles = {
        name: _profile("numeric" if name in config.features.numeric else "categorical", raw)
        for name, raw in features.items()
    }
    if config.task == "regression":
        predictions = _profile("numeric", predicted)
    else:
        classes = list(config.data.class_names)
        shares = _category_shares([str(label) for label in predicted], classes).tolist()
        predictions = FeatureProfile(kind="categorical", bins=classes, shares=shares)
    return DataProfile(rows=len(predicted), features=profiles, predictions=predictions)


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
    predicted: Sequence[Any],
    profile: DataProfile | None = None,
) -> DriftReport:
    """PSI of each feature and of the predictions (classes or values), live against the training
    profile (the loaded model's, unless given)."""
    profile = profile or load_model().profile
    if profile is None:
        raise ValueError("the model was trained without a data profile: train it again")
    report = [
        compare(name, ref.kind, ref.bins, ref.shares, _live_shares(ref, features.get(name, [])))
        for name, ref in profile.features.items()
    ]
    reference = profile.predictions
    name = "predicted value" if reference.kind == "numeric" else "predicted class"
    live = _live_shares(reference, predicted)
    predictions = compare(name, reference.kind, reference.bins, reference.shares, live)
    return DriftReport(rows=len(predicted), features=report, predictions=predictions)
