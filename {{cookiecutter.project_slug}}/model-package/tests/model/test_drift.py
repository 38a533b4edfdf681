"""The training profile in the metadata, and PSI against it (drift.py)."""

import math

import pytest

from {{ cookiecutter.package_name }} import (
    TASK,
    drift_report,
    load_model,
    model_features,
    value_bins,
)
from {{ cookiecutter.package_name }}.config import PREPARED_DIR, config
from {{ cookiecutter.package_name }}.data import Part
from {{ cookiecutter.package_name }}.drift import DRIFT, STABLE, _profile, psi
from {{ cookiecutter.package_name }}.persistence import load_pipeline
from {{ cookiecutter.package_name }}.stages import unseen_predictions


def test_psi() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    expected = 0.4 * math.log(0.9 / 0.5) - 0.4 * math.log(0.1 / 0.5)
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(expected)
    assert STABLE < DRIFT


def test_the_profile_covers_every_input_without_rows() -> None:
    profile = load_model().profile
    assert profile is not None
    assert sorted(profile.features) == sorted(config.features.all)
    for name, feature in profile.features.items():
        assert len(feature.bins) == len(feature.shares), name
        assert sum(feature.shares) == pytest.approx(1), name
        assert len(feature.bins) <= 101, name  # bins and shares, never the training rows
    assert sum(profile.predictions.shares) == pytest.approx(1)
    assert profile.rows == load_model().n_train


def test_the_training_data_does_not_drift_from_itself() -> None:
    train = Part.read(PREPARED_DIR / "train.jsonl")
    predicted = load_pipeline().predict(train.inputs()).tolist()
    if TASK == "regression":  # the profile holds the values predicted for rows not trained on
        predicted = unseen_predictions(train.inputs(), train.targets).tolist()
    report = drift_report(model_features(train.records), predicted)
    assert report.rows == len(train.records)
    for item in [*report.features, report.predictions]:
        assert item.psi == pytest.approx(0, abs=1e-9), item.feature
        assert item.status == "stable"


def test_value_bins_count_as_drift_does() -> None:
    profile = _profile("numeric", [float(number) for number in range(1, 101)])
    values = [float(number) for number in range(1, 101)]
    bins = value_bins(values, profile)
    shares = [bins.count(name) / len(values) for name in profile.bins]
    assert shares == pytest.approx(profile.shares)
    assert value_bins([profile.edges[0]], profile) == [profile.bins[0]]  # an edge closes its bin


def test_one_kind_of_record_is_drift() -> None:
    """Only the records of one category (or of the lowest numbers) of the first feature."""
    train = Part.read(PREPARED_DIR / "train.jsonl")
    name = config.features.all[0]
    values = model_features(train.records)[name]
    if name in config.features.numeric:
        present = sorted(value for value in values if value is not None)
        keep = [value is not None and value <= present[len(present) // 10] for value in values]
    else:
        keep = [value == max(set(values), key=values.count) for value in values]
    records = [record for record, kept in zip(train.records, keep, strict=True) if kept]
    report = drift_report(model_features(records), [train.targets[0]] * len(records))
    (shifted,) = [item for item in report.features if item.feature == name]
    assert shifted.psi >= DRIFT
    assert shifted.status == "drift"
