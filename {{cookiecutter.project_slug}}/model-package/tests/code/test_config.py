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
from {{ cookiecutter.package_name }}.release import gate_comparisons
from {{ cookiecutter.package_name }}.results import (
    INPUT_FIELDS,
    LOWER_IS_BETTER,
    METRICS,
    Task,
)


def write_config(tmp_path: Path, change: dict[str, Any]) -> Path:
    raw = yaml.safe_load(CONFIG_FILE.read_text())
    for section, values in change.items():
        if isinstance(values, dict):
            raw[section].update(values)
        else:
            raw[section] = values
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_default_config_is_valid() -> None:
    config = load_config()
    assert 0 < config.split.test_size < 1
    assert len(config.data.class_names) >= 2 or config.task == "regression"
    assert set(config.features.all) <= set(INPUT_FIELDS) | set(ENGINEERED_FEATURES)
    resolve_estimator(config.model, config.split.random_state, config.task)


FIRST_CLASS = next(iter(config.data.classes or {"1": "one"}))
# config.yml with the other task and this one's data section: its classes are missing, or too many.
OTHER_TASK = (
    ("regression", "a regression predicts a number and has no classes")
    if config.task == "classification"
    else ("classification", "a classification lists its classes")
)


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
        ({"gate": {"metrics": {"auc": 0.01}}}, f"['auc'] are not gated metrics of a {config.task}"),
        ({"gate": {"metrics": {"interval_coverage": 0.01}}}, "are not gated metrics"),
        ({"task": "clustering"}, "task: Input should be 'classification' or 'regression'"),
        ({"task": OTHER_TASK[0]}, OTHER_TASK[1]),
        ({"gate": {"metrics": {"accuracy": -0.01}}}, "tolerances of ['accuracy'] are negative"),
        ({"gate": {"metrics": {}}}, "gate.metrics"),
        ({"card": {"intended_use": ""}}, "card.intended_use"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, change: dict[str, Any], message: str) -> None:
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


@pytest.mark.parametrize(
    ("task", "name"),
    [
        *((task, name) for task, aliases in ALIASES.items() for name in aliases),
        ("classification", "sklearn.ensemble.ExtraTreesClassifier"),
        ("regression", "sklearn.ensemble.ExtraTreesRegressor"),
    ],
)
def test_every_estimator_gets_the_seed(task: Task, name: str) -> None:
    spec, params = resolve_estimator(ModelConfig(estimator=name), 7, task)
    assert params == {"random_state": 7}
    assert spec.factory(**params).get_params()["random_state"] == 7


def test_an_import_path_names_any_classifier_or_regressor() -> None:
    svc = ModelConfig(estimator="sklearn.svm.SVC", params={"probability": True})
    spec, params = resolve_estimator(svc, 7, "classification")
    assert (spec.factory.__name__, spec.scale_numeric) == ("SVC", True)
    assert params == {"probability": True, "random_state": 7}
    model = ModelConfig(estimator="sklearn.ensemble.ExtraTreesClassifier")
    assert not resolve_estimator(model, 7, "classification")[0].scale_numeric  # raw numbers
    svr = ModelConfig(estimator="sklearn.svm.SVR", params={"C": 2.0})
    assert resolve_estimator(svr, 7, "regression")[1] == {"C": 2.0}  # SVR takes no seed


@pytest.mark.parametrize(
    ("estimator", "params", "message"),
    [
        (
            "random_forrest",
            {},
            "model.estimator: unknown estimator 'random_forrest' for a classification; did you "
            f"mean 'random_forest'? write one of {', '.join(ALIASES['classification'])}, or an "
            "import path such as sklearn.ensemble.ExtraTreesClassifier",
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
            "model.estimator: LinearRegression is not a classifier, and config.yml's task is "
            "classification; choose a classifier (such as sklearn.ensemble.ExtraTreesClassifier), "
            "or change the task",
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
        resolve_estimator(ModelConfig(estimator=estimator, params=params), 0, "classification")
    assert "\n" not in str(error.value)
    assert str(error.value).startswith(message)


def test_a_classifier_for_a_regression_is_one_line() -> None:
    model = ModelConfig(estimator="xgboost.XGBClassifier")
    with pytest.raises(ConfigError) as error:
        resolve_estimator(model, 0, "regression")
    assert str(error.value) == (
        "model.estimator: XGBClassifier is not a regressor, and config.yml's task is regression; "
        "choose a regressor (such as sklearn.ensemble.ExtraTreesRegressor), or change the task"
    )


def test_misspelt_parameter_names_it_and_the_allowed_ones() -> None:
    model = ModelConfig(estimator="random_forest", params={"n_estimator": 10})
    with pytest.raises(ConfigError) as error:
        resolve_estimator(model, 0, "classification")
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
        resolve_estimator(model, 0, "classification")


@pytest.mark.parametrize(
    ("metric", "published", "candidate", "worse"),
    [
        ("accuracy", 0.8, 0.7, 0.1),
        ("roc_auc", 0.8, 0.9, -0.1),
        ("log_loss", 0.4, 0.5, 0.1),
        ("log_loss", 0.5, 0.4, -0.1),
        ("rmse", 2.0, 2.5, 0.5),
        ("r2", 0.6, 0.7, -0.1),
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
    kind = METRICS[config.task]
    published = kind(**{name: 0.5 + index / 100 for index, name in enumerate(kind.model_fields)})
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
