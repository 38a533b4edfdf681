from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import __version__
from {{ cookiecutter.package_name }}.data import to_records
from {{ cookiecutter.package_name }}.persistence import load_pipeline
from {{ cookiecutter.package_name }}.predict import make_prediction
from {{ cookiecutter.package_name }}.train_pipeline import Split


def test_predicts_labels_and_probabilities(passenger: dict[str, Any]) -> None:
    result = make_prediction([passenger])
    assert result.model_version == __version__
    assert result.errors == []
    probability = result.probabilities[0]
    assert probability is not None
    assert 0.5 < probability < 1  # a first-class woman
    assert result.labels == [1]


def test_serving_matches_the_reference_pipeline_on_the_holdout(
    dataset: pd.DataFrame, split: Split
) -> None:
    """ONNX Runtime (serving) against the scikit-learn pipeline (reference), whole holdout."""
    _, x_holdout, _, _ = split
    records = to_records(dataset.loc[x_holdout.index].drop(columns="survived"))
    result = make_prediction(records)
    expected = load_pipeline().predict_proba(x_holdout)[:, 1]
    assert result.errors == []
    assert len(result.probabilities) == len(x_holdout) == 262
    assert result.probabilities == pytest.approx(expected.tolist(), rel=0, abs=1e-6)
    assert result.labels == load_pipeline().predict(x_holdout).tolist()


def test_invalid_records_are_reported_not_raised(passenger: dict[str, Any]) -> None:
    batch = [
        passenger,
        {**passenger, "age": -3},
        "not a record",
        {**passenger, "boat": "2"},
        {key: value for key, value in passenger.items() if key != "sex"},
        passenger,
    ]
    result = make_prediction(batch)  # type: ignore[arg-type]
    assert [(error.index, error.field) for error in result.errors] == [
        (1, "age"),
        (2, ""),
        (3, "boat"),
        (4, "sex"),
    ]
    assert result.labels[0] == result.labels[5] == 1
    assert result.labels[1:5] == [None] * 4
    assert result.probabilities[1:5] == [None] * 4


def test_optional_fields_may_be_missing(passenger: dict[str, Any]) -> None:
    minimal = {key: passenger[key] for key in ("pclass", "name", "sex", "sibsp", "parch")}
    result = make_prediction([minimal])
    assert result.errors == []
    assert result.labels[0] in (0, 1)


def test_empty_batch() -> None:
    result = make_prediction([])
    assert (result.labels, result.probabilities, result.errors) == ([], [], [])


def test_given_names_do_not_change_the_prediction(passenger: dict[str, Any]) -> None:
    renamed = {**passenger, "name": "Smith, Miss. Jane Mary"}
    original, other = make_prediction([passenger, renamed]).probabilities
    assert original == other


def test_a_man_in_third_class_is_less_likely_to_survive(passenger: dict[str, Any]) -> None:
    man = {**passenger, "sex": "male", "name": "Smith, Mr. John", "pclass": 3, "fare": 8.05}
    woman_first, man_third = make_prediction([passenger, man]).probabilities
    assert woman_first is not None
    assert man_third is not None
    assert man_third < 0.3 < woman_first
