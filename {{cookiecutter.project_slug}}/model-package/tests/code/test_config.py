import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }} import DISTRIBUTION
from {{ cookiecutter.package_name }}.config import (
    CONFIG_FILE,
    ConfigError,
    ModelConfig,
    config,
    load_config,
)
from {{ cookiecutter.package_name }}.estimators import ALIASES, resolve_estimator
from {{ cookiecutter.package_name }}.features import ENGINEERED_FEATURES
from {{ cookiecutter.package_name }}.metrics import gate_comparisons
from {{ cookiecutter.package_name }}.results import (
    INPUT_FIELDS,
    LOWER_IS_BETTER,
    HoldoutMetrics,
)


def write_config(tmp_path: Path, change: dict[str, dict[str, Any]]) -> Path:
    raw = yaml.safe_load(CONFIG_FILE.read_text())
    for section, values in change.items():
        raw[section].update(values)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_default_config_is_valid() -> None:
    config = load_config()
    assert 0 < config.split.test_size < 1
    assert len(config.data.class_names) >= 2
    assert set(config.features.all) <= set(INPUT_FIELDS) | set(ENGINEERED_FEATURES)
    resolve_estimator(config.model, config.split.random_state)


FIRST_CLASS = next(iter(config.data.classes))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"split": {"tset_size": 0.2}}, "split.tset_size: Extra inputs are not permitted"),
        ({"split": {"test_size": "a fifth"}}, "split.test_size"),
        ({"split": {"test_size": 1.5}}, "split.test_size"),
        ({"features": {"numeric": ["no_such_column"]}}, "unknown features ['no_such_column']"),
        ({"features": {"numeric": [], "categorical": []}}, "no features: list at least one"),
        (
            {"features": {"numeric": config.features.all[:1] * 2}},
            "features listed more than once",
        ),
        ({"data": {"classes": {FIRST_CLASS: "only one"}}}, "data.classes"),
        ({"data": {"classes": {"1": "same", "2": "same"}}}, "class names used more than once"),
        ({"data": {"classes": {True: "churned", False: "stayed"}}}, "quote the values"),
        ({"data": {"classes": {1: "survived", 0: "died"}}}, "quote the values of the target"),
        ({"data": {"target": INPUT_FIELDS[0]}}, "is a field of InputRecord"),
        ({"model": {"params": "C=1"}}, "model.params"),
        ({"model": {"estimatr": "random_forest"}}, "model.estimatr: Extra inputs"),
        ({"artifact": {"name": "../escape"}}, "artifact.name"),
        ({"gate": {"metrics": {"auc": 0.01}}}, "unknown metrics ['auc']; choose from"),
        ({"gate": {"metrics": {"accuracy": -0.01}}}, "tolerances of ['accuracy'] are negative"),
        ({"gate": {"metrics": {}}}, "gate.metrics"),
        ({"card": {"intended_use": ""}}, "card.intended_use"),
    ],
)
def test_bad_config_is_a_clear_error(
    tmp_path: Path, change: dict[str, dict[str, Any]], message: str
) -> None:
    path = write_config(tmp_path, change)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_unreadable_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yml")


@pytest.mark.parametrize("name", [*ALIASES, "sklearn.ensemble.ExtraTreesClassifier"])
def test_every_estimator_gets_the_seed(name: str) -> None:
    spec, params = resolve_estimator(ModelConfig(estimator=name), seed=7)
    assert params == {"random_state": 7}
    assert spec.factory(**params).get_params()["random_state"] == 7


def test_an_import_path_names_any_classifier() -> None:
    svc = ModelConfig(estimator="sklearn.svm.SVC", params={"probability": True})
    spec, params = resolve_estimator(svc, seed=7)
    assert (spec.factory.__name__, spec.scale_numeric) == ("SVC", True)
    assert params == {"probability": True, "random_state": 7}
    model = ModelConfig(estimator="sklearn.ensemble.ExtraTreesClassifier")
    assert not resolve_estimator(model, seed=7)[0].scale_numeric  # trees split on raw numbers


@pytest.mark.parametrize(
    ("estimator", "params", "message"),
    [
        (
            "random_forrest",
            {},
            "model.estimator: unknown estimator 'random_forrest'; did you mean 'random_forest'? "
            f"write one of {', '.join(ALIASES)}, or a classifier's import path such as "
            "sklearn.ensemble.ExtraTreesClassifier",
        ),
        (
            "sklearn.ensembel.ExtraTreesClassifier",
            {},
            "model.estimator: cannot import sklearn.ensembel (No module named 'sklearn.ensembel'); "
            "add its distribution to the train extra in pyproject.toml",
        ),
        (
            "sklearn.ensemble.ExtraTreeClassifier",
            {},
            "model.estimator: sklearn.ensemble has no ExtraTreeClassifier; did you mean "
            "ExtraTreesClassifier?",
        ),
        (
            "sklearn.ensemble.VotingClassifier",
            {},
            "model.estimator: VotingClassifier cannot be made from config.yml alone",
        ),
        (
            "collections.OrderedDict",
            {},
            "model.estimator: collections.OrderedDict is not a scikit-learn estimator class",
        ),
        (
            "sklearn.linear_model.LinearRegression",
            {},
            "model.estimator: LinearRegression is not a classifier, and this model predicts the "
            "classes of data.classes; choose a classifier",
        ),
        (
            "sklearn.svm.SVC",
            {"C": 2.0},
            "model.estimator: SVC with these params gives no class probabilities (predict_proba)",
        ),
    ],
)
def test_an_estimator_that_cannot_serve_is_one_line(
    estimator: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        resolve_estimator(ModelConfig(estimator=estimator, params=params), seed=0)
    assert "\n" not in str(error.value)
    assert str(error.value).startswith(message)


def test_misspelt_parameter_names_it_and_the_allowed_ones() -> None:
    model = ModelConfig(estimator="random_forest", params={"n_estimator": 10})
    with pytest.raises(ConfigError) as error:
        resolve_estimator(model, seed=0)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(
        "model.params: 'n_estimator' is not a parameter of random_forest (RandomForestClassifier) "
        "(did you mean 'n_estimators'?); allowed: "
    )
    assert "max_depth, max_features" in message


def test_a_parameter_of_another_estimator_is_refused() -> None:
    model = ModelConfig(estimator="logistic_regression", params={"max_depth": 3})
    with pytest.raises(ConfigError, match="'max_depth' is not a parameter of logistic_regression"):
        resolve_estimator(model, seed=0)


@pytest.mark.parametrize(
    ("metric", "published", "candidate", "worse"),
    [
        ("accuracy", 0.8, 0.7, 0.1),
        ("roc_auc", 0.8, 0.9, -0.1),
        ("log_loss", 0.4, 0.5, 0.1),
        ("log_loss", 0.5, 0.4, -0.1),
    ],
)
def test_the_gate_knows_which_way_is_better(
    metric: str, published: float, candidate: float, worse: float
) -> None:
    assert config.gate.worse_by(metric, published, candidate) == pytest.approx(worse)


def test_the_distribution_is_the_one_pyproject_names() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"] == DISTRIBUTION


def test_the_gate_passes_within_the_tolerance_and_fails_beyond() -> None:
    published = HoldoutMetrics(
        accuracy=0.8, roc_auc=0.85, precision=0.8, recall=0.7, f1=0.75, log_loss=0.45
    )
    gated = config.gate.metrics
    within = {metric: published.model_dump()[metric] for metric in gated}
    beyond = dict(within)
    for metric, tolerance in gated.items():  # each just inside, or just past, its tolerance
        step = tolerance if metric in LOWER_IS_BETTER else -tolerance
        within[metric] += step * 0.5
        beyond[metric] += step * 1.5 + (1e-6 if metric in LOWER_IS_BETTER else -1e-6)
    passing = gate_comparisons(published, published.model_copy(update=within))
    failing = gate_comparisons(published, published.model_copy(update=beyond))
    assert [item.metric for item in passing] == list(gated)
    assert all(item.passed for item in passing)
    assert not any(item.passed for item in failing)
