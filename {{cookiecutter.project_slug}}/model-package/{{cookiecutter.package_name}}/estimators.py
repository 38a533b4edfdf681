"""The fitted part of the model: standard scikit-learn steps only, so it converts to ONNX.

config.yml chooses the estimator (`model.estimator`, `model.params`) from ESTIMATORS. Each of them
converts to ONNX and is held to scikit-learn by tests/model/test_estimators.py.
"""

import difflib
import warnings
from dataclasses import dataclass
from typing import Any

from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .config import Config, ConfigError, ModelConfig

ONNX_OPSET = 17


@dataclass(frozen=True)
class Estimator:
    factory: type[ClassifierMixin]
    # Linear models need standardised numbers. Trees don't, and unscaled inputs keep their splits
    # in ONNX's float32 exactly where scikit-learn put them.
    scale_numeric: bool


ESTIMATORS = {
    "logistic_regression": Estimator(LogisticRegression, scale_numeric=True),
    "random_forest": Estimator(RandomForestClassifier, scale_numeric=False),
    "hist_gradient_boosting": Estimator(HistGradientBoostingClassifier, scale_numeric=False),
}


def resolve_estimator(model: ModelConfig, seed: int) -> tuple[Estimator, dict[str, Any]]:
    """The chosen estimator and its parameters, checked against the estimator's own, with the
    seed added if it takes one; an unknown name is a ConfigError that lists the allowed ones."""
    if model.estimator not in ESTIMATORS:
        raise ConfigError(
            f"model.estimator: unknown estimator {model.estimator!r}; "
            f"choose one of {', '.join(ESTIMATORS)}"
        )
    spec = ESTIMATORS[model.estimator]
    factory = spec.factory
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
    return spec, params


def build_pipeline(config: Config) -> Pipeline:
    """Impute (and for linear models scale) the numbers, one-hot the categories, then the
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

    inputs = [(name, FloatTensorType([None, 1])) for name in config.features.numeric]
    inputs += [(name, StringTensorType([None, 1])) for name in config.features.categorical]
    options = {id(pipeline.steps[-1][1]): {"zipmap": False}}
    with warnings.catch_warnings():
        # skl2onnx 1.20 hands protobuf booleans for integer attributes (histogram gradient
        # boosting); the values are right, and protobuf 6 says so once per tree.
        warnings.filterwarnings("ignore", "Field onnx.AttributeProto.ints", DeprecationWarning)
        model = convert(pipeline, initial_types=inputs, options=options, target_opset=ONNX_OPSET)
    serialized: bytes = model.SerializeToString()
    return serialized
