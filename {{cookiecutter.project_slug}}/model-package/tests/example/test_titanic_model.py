"""The Titanic example model: a quality floor and predictions that make sense.

Replacing the example? Delete this file or rewrite it with your model's own floor and cases.
"""

from typing import Any

from {{ cookiecutter.package_name }} import (
    ClassificationMetrics,
    load_model,
    make_prediction,
)
from {{ cookiecutter.package_name }}.data import Part
from {{ cookiecutter.package_name }}.metrics import score
from {{ cookiecutter.package_name }}.persistence import load_pipeline

# Every estimator of estimators.py clears these at its default parameters; always predicting "did
# not survive" would score an accuracy of 0.62 and a ROC AUC of 0.5.
ROC_AUC_FLOOR = 0.84
ACCURACY_FLOOR = 0.75


def test_holdout_quality_is_above_the_floor(holdout: Part) -> None:
    metrics = score(load_pipeline(), holdout.inputs(), holdout.targets, interval=None)
    assert isinstance(metrics, ClassificationMetrics)
    assert metrics.roc_auc >= ROC_AUC_FLOOR
    assert metrics.accuracy >= ACCURACY_FLOOR


def test_the_example_passenger_survives(example: dict[str, Any]) -> None:
    result = make_prediction([example])
    assert result.labels == ["survived"]
    probabilities = result.probabilities[0]
    assert probabilities is not None
    assert 0.5 < probabilities["survived"] < 1  # a first-class woman


def test_given_names_do_not_change_the_prediction(example: dict[str, Any]) -> None:
    renamed = {**example, "name": "Smith, Miss. Jane Mary"}
    original, other = make_prediction([example, renamed]).probabilities
    assert original == other


def test_a_man_in_third_class_is_less_likely_to_survive(example: dict[str, Any]) -> None:
    man = {**example, "sex": "male", "name": "Smith, Mr. John", "pclass": 3, "fare": 8.05}
    man["cabin"] = None
    woman_first, man_third = make_prediction([example, man]).probabilities
    assert woman_first is not None
    assert man_third is not None
    assert man_third["survived"] < 0.5 < woman_first["survived"]


def test_leaky_columns_are_not_used() -> None:
    used = set(load_pipeline().feature_names_in_)
    assert not {"boat", "body", "home.dest"}.intersection(used | set(load_model().input_fields))
