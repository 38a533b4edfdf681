"""The fitted part of the model: standard scikit-learn steps, then the estimator config.yml names.

`model.estimator` is a short name from ALIASES or any scikit-learn-API classifier by its import
path (`sklearn.ensemble.ExtraTreesClassifier`), with no code to change. `model.params` are checked
against the estimator's own get_params(). ONNX is the serving format, so an estimator that no
converter knows stops training with one line. tests/model/test_estimators.py holds each alias,
and one estimator by its path, to scikit-learn through ONNX on the whole holdout.
"""

import difflib
import importlib
import warnings
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .config import Config, ConfigError, ModelConfig

ONNX_OPSET = 17

ALIASES = {
    "logistic_regression": "sklearn.linear_model.LogisticRegression",
    "random_forest": "sklearn.ensemble.RandomForestClassifier",
    "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
}
# Trees split on raw numbers, and unscaled inputs keep their splits in ONNX's float32 exactly where
# scikit-learn put them. Every other estimator (linear, kernel, neighbours) gets standardised ones.
TREE_MODULES = ("sklearn.tree", "sklearn.ensemble")


@dataclass(frozen=True)
class Estimator:
    factory: type[BaseEstimator]
    scale_numeric: bool


def estimator_class(name: str) -> type[BaseEstimator]:
    """The class a short name or an import path names; a ConfigError that says what to write."""
    path = ALIASES.get(name, name)
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        close = difflib.get_close_matches(name, ALIASES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"model.estimator: unknown estimator {name!r}; {hint}write one of "
            f"{', '.join(ALIASES)}, or a classifier's import path such as "
            "sklearn.ensemble.ExtraTreesClassifier"
        )
    try:
        factory = getattr(importlib.import_module(module_name), class_name, None)
    except ImportError as error:
        raise ConfigError(
            f"model.estimator: cannot import {module_name} ({error}); add its distribution to "
            "the training environment (the train extra in pyproject.toml)"
        ) from None
    if not (isinstance(factory, type) and issubclass(factory, BaseEstimator)):
        raise ConfigError(
            f"model.estimator: {path} is not a scikit-learn estimator class "
            "(one with fit, get_params and set_params)"
        )
    return factory


def resolve_estimator(model: ModelConfig, seed: int) -> tuple[Estimator, dict[str, Any]]:
    """The chosen estimator and its parameters, checked against its own, with the seed added if
    it takes one. It must be a classifier that gives class probabilities."""
    factory = estimator_class(model.estimator)
    allowed = sorted(factory().get_params())
    for name in model.params:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"model.params: {name!r} is not a parameter of {model.estimator} "
                f"({factory.__name__}){hint}; allowed: {', '.join(allowed)}"
            )
    params = dict(model.params)
    if "random_state" in allowed:
        params.setdefault("random_state", seed)
    estimator = factory(**params)
    if not is_classifier(estimator):
        raise ConfigError(
            f"model.estimator: {factory.__name__} is not a classifier, and this model predicts "
            "the classes of data.classes; choose a classifier"
        )
    if not hasattr(estimator, "predict_proba"):
        raise ConfigError(
            f"model.estimator: {factory.__name__} with these params gives no class probabilities "
            "(predict_proba), which the model's metrics and answers need; for SVC, set "
            "probability: true in model.params"
        )
    scale = not factory.__module__.startswith(TREE_MODULES)
    return Estimator(factory, scale_numeric=scale), params


def build_pipeline(config: Config) -> Pipeline:
    """Impute (and for all but trees, scale) the numbers, one-hot the categories, then the
    configured estimator."""
    spec, params = resolve_estimator(config.model, config.split.random_state)
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if spec.scale_numeric:
        numeric_steps.append(("scale", StandardScaler()))
    # Dense one-hot columns: histogram gradient boosting takes no sparse input.
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    groups = [
        ("numeric", Pipeline(numeric_steps), config.features.numeric),
        ("categorical", categorical, config.features.categorical),
    ]
    preprocess = ColumnTransformer([group for group in groups if group[2]])
    return Pipeline([("preprocess", preprocess), ("classifier", spec.factory(**params))])


def to_onnx(pipeline: Pipeline, config: Config) -> bytes:
    """The fitted pipeline as an ONNX graph with one input per feature column."""
    from skl2onnx import to_onnx as convert
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator

    inputs = [(name, FloatTensorType([None, 1])) for name in config.features.numeric]
    inputs += [(name, StringTensorType([None, 1])) for name in config.features.categorical]
    estimator = pipeline.steps[-1][1]
    options = {id(estimator): {"zipmap": False}}
    with warnings.catch_warnings():
        # skl2onnx 1.20 hands protobuf booleans for integer attributes (histogram gradient
        # boosting); the values are right, and protobuf 6 says so once per tree.
        warnings.filterwarnings("ignore", "Field onnx.AttributeProto.ints", DeprecationWarning)
        try:
            model = convert(
                pipeline, initial_types=inputs, options=options, target_opset=ONNX_OPSET
            )
        except (MissingConverter, MissingShapeCalculator):
            raise ConfigError(
                f"model.estimator: no ONNX converter knows {type(estimator).__name__}, and ONNX "
                "is how the model is served; choose one that skl2onnx converts "
                "(skl2onnx.supported_converters())"
            ) from None
    serialized: bytes = model.SerializeToString()
    return serialized
