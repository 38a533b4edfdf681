"""The fitted part of the model: standard scikit-learn steps, then the estimator config.yml names.

`model.estimator` is a short name from the task's ALIASES or any scikit-learn-API classifier or
regressor by its import path (`sklearn.ensemble.ExtraTreesRegressor`, `xgboost.XGBClassifier`,
`lightgbm.LGBMRegressor`), with no code to change. `model.params` are checked against the
estimator's own get_params(). A classifier learns encoded classes (XGBoost takes no others) and
answers with their names. ONNX is the serving format: skl2onnx converts, with onnxmltools'
converters for XGBoost and LightGBM, and an estimator that no converter knows stops training with
one line once it is fitted (skl2onnx has no public registry to ask before).
tests/model/test_estimators.py holds each alias, and estimators by their path, to scikit-learn
through ONNX on the whole holdout.
"""

import difflib
import importlib
import importlib.metadata
import inspect
import warnings
from dataclasses import dataclass
from typing import Any

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    clone,
    is_classifier,
    is_regressor,
)
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

from .config import Config, ConfigError, ModelConfig
from .results import Task

# The default domain's opset, and the ai.onnx.ml one that onnxmltools' tree converters support.
ONNX_OPSET = {"": 17, "ai.onnx.ml": 3}

ALIASES: dict[Task, dict[str, str]] = {
    "classification": {
        "logistic_regression": "sklearn.linear_model.LogisticRegression",
        "random_forest": "sklearn.ensemble.RandomForestClassifier",
        "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
    },
    "regression": {
        "ridge": "sklearn.linear_model.Ridge",
        "random_forest": "sklearn.ensemble.RandomForestRegressor",
        "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingRegressor",
    },
}
EXAMPLES: dict[Task, str] = {
    "classification": "sklearn.ensemble.ExtraTreesClassifier",
    "regression": "sklearn.ensemble.ExtraTreesRegressor",
}
# Trees split on raw numbers, and unscaled inputs keep their splits in ONNX's float32 exactly where
# scikit-learn put them. Every other estimator (linear, kernel, neighbours) gets standardised ones.
TREE_MODULES = ("sklearn.tree", "sklearn.ensemble", "xgboost", "lightgbm")
# Estimators of other distributions, each installed by the package extra of its module's name, and
# the onnxmltools converters that turn them into ONNX.
ONNXMLTOOLS_CONVERTERS = {
    "xgboost.XGBClassifier": "xgboost.operator_converters.XGBoost.convert_xgboost",
    "xgboost.XGBRegressor": "xgboost.operator_converters.XGBoost.convert_xgboost",
    "lightgbm.LGBMClassifier": "lightgbm.operator_converters.LightGbm.convert_lightgbm",
    "lightgbm.LGBMRegressor": "lightgbm.operator_converters.LightGbm.convert_lightgbm",
}
EXTRAS = {path.split(".")[0] for path in ONNXMLTOOLS_CONVERTERS}


@dataclass(frozen=True)
class Estimator:
    factory: type[BaseEstimator]
    scale_numeric: bool

    @property
    def distributions(self) -> list[str]:
        """What an estimator of another distribution needs, recorded in the model's metadata: its
        distribution (xgboost-cpu for xgboost) and onnxmltools, which converts it."""
        module = self.factory.__module__.split(".")[0]
        if module not in EXTRAS:
            return []
        return [*importlib.metadata.packages_distributions().get(module, []), "onnxmltools"]


class EncodedClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """The estimator fitted on the classes' indexes (sorted names), answering with the names."""

    def __init__(self, estimator: BaseEstimator) -> None:
        self.estimator = estimator

    def fit(self, inputs: Any, labels: Any) -> "EncodedClassifier":
        self.encoder_ = LabelEncoder().fit(labels)
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(inputs, self.encoder_.transform(labels))
        return self

    def predict_proba(self, inputs: Any) -> Any:
        return self.estimator_.predict_proba(inputs)

    def predict(self, inputs: Any) -> Any:
        return self.classes_[self.predict_proba(inputs).argmax(axis=1)]


def estimator_class(name: str, task: Task) -> type[BaseEstimator]:
    """The class a short name or an import path names; a ConfigError that says what to write."""
    aliases = ALIASES[task]
    path = aliases.get(name, name)
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        close = difflib.get_close_matches(name, aliases, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"model.estimator: unknown estimator {name!r} for a {task}; {hint}write one of "
            f"{', '.join(aliases)}, or an import path such as {EXAMPLES[task]}"
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # not installed, or a library it loads is missing (libomp)
        extra = module_name.split(".")[0]
        advice = (
            f"install the package's {extra} extra (pip install -e '.[{extra}]')"
            if extra in EXTRAS
            else "add its distribution to the train extra in pyproject.toml"
        )
        raise ConfigError(
            f"model.estimator: cannot import {module_name} ({error}); {advice}"
        ) from None
    factory = getattr(module, class_name, None)
    if factory is None:
        close = difflib.get_close_matches(class_name, dir(module), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(f"model.estimator: {module_name} has no {class_name}{hint}")
    if not (isinstance(factory, type) and issubclass(factory, BaseEstimator)):
        raise ConfigError(
            f"model.estimator: {path} is not a scikit-learn estimator class "
            "(one with fit, get_params and set_params)"
        )
    return factory


def resolve_estimator(
    model: ModelConfig, seed: int, task: Task
) -> tuple[Estimator, dict[str, Any]]:
    """The chosen estimator and its parameters, checked against its own, with the seed added if
    it takes one. It must be of the task's kind; a classifier must give class probabilities."""
    factory = estimator_class(model.estimator, task)
    try:
        allowed = sorted(factory().get_params())
    except TypeError as error:  # meta-estimators: VotingClassifier, StackingClassifier, ...
        raise ConfigError(
            f"model.estimator: {factory.__name__} cannot be made from config.yml alone ({error}); "
            "choose an estimator whose parameters all have defaults"
        ) from None
    # LightGBM and XGBoost take more than get_params() lists (verbose: -1), and check them at fit.
    kwargs = inspect.Parameter.VAR_KEYWORD
    open_ended = any(p.kind == kwargs for p in inspect.signature(factory).parameters.values())
    for name in model.params:
        if name not in allowed and not open_ended:
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
    kind = "classifier" if task == "classification" else "regressor"
    if not (is_classifier if task == "classification" else is_regressor)(estimator):
        raise ConfigError(
            f"model.estimator: {factory.__name__} is not a {kind}, and config.yml's task is "
            f"{task}; choose a {kind} (such as {EXAMPLES[task]}), or change the task"
        )
    if task == "classification" and not hasattr(estimator, "predict_proba"):
        raise ConfigError(
            f"model.estimator: {factory.__name__} with these params gives no class probabilities "
            "(predict_proba), which the model's metrics and answers need; for SVC, set "
            "probability: true in model.params"
        )
    scale = not factory.__module__.startswith(TREE_MODULES)
    return Estimator(factory, scale_numeric=scale), params


def build_pipeline(config: Config) -> Pipeline:
    """Impute (and for all but trees, scale) the numbers, one-hot the categories, then the
    configured estimator (a classifier on encoded classes)."""
    spec, params = resolve_estimator(config.model, config.split.random_state, config.task)
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
    estimator = spec.factory(**params)
    if config.task == "classification":
        estimator = EncodedClassifier(estimator)
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def register_converter(estimator: BaseEstimator) -> None:
    """onnxmltools' converter for an estimator of another distribution; skl2onnx knows the rest."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    factory = type(estimator)
    extra = factory.__module__.split(".")[0]
    if (path := f"{extra}.{factory.__name__}") not in ONNXMLTOOLS_CONVERTERS:
        return
    module_name, _, function = ONNXMLTOOLS_CONVERTERS[path].rpartition(".")
    try:
        converter = getattr(importlib.import_module(f"onnxmltools.convert.{module_name}"), function)
    except ImportError:
        raise ConfigError(
            f"model.estimator: onnxmltools converts {factory.__name__} to ONNX and is not "
            f"installed; install the package's {extra} extra (pip install -e '.[{extra}]')"
        ) from None
    if is_classifier(estimator):
        shapes = calculate_linear_classifier_output_shapes
        options: dict[str, Any] = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    else:
        shapes, options = calculate_linear_regressor_output_shapes, {}
    update_registered_converter(
        factory, f"onnxmltools{factory.__name__}", shapes, converter, options=options
    )


def to_onnx(pipeline: Pipeline, config: Config) -> bytes:
    """The fitted pipeline as an ONNX graph with one input per feature column. A regression's
    first output is the predicted values. A classifier's estimator is the one fitted on encoded
    classes: its `label` output is a class's index, and its `probabilities` columns are in the
    order of the pipeline's classes_ (the model's metadata)."""
    from skl2onnx import to_onnx as convert
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator

    estimator = pipeline.steps[-1][1]
    options: dict[int, dict[str, Any]] = {}
    if isinstance(estimator, EncodedClassifier):
        estimator = estimator.estimator_
        options = {id(estimator): {"zipmap": False}}
    register_converter(estimator)
    inputs = [(name, FloatTensorType([None, 1])) for name in config.features.numeric]
    inputs += [(name, StringTensorType([None, 1])) for name in config.features.categorical]
    served = Pipeline([*pipeline.steps[:-1], ("estimator", estimator)])
    with warnings.catch_warnings():
        # skl2onnx 1.20 hands protobuf booleans for integer attributes (histogram gradient
        # boosting); the values are right, and protobuf 6 says so once per tree.
        warnings.filterwarnings("ignore", "Field onnx.AttributeProto.ints", DeprecationWarning)
        try:
            model = convert(served, initial_types=inputs, options=options, target_opset=ONNX_OPSET)
        except (MissingConverter, MissingShapeCalculator):
            raise ConfigError(
                f"model.estimator: no ONNX converter knows {type(estimator).__name__}, and ONNX "
                "is how the model is served; choose one that skl2onnx converts "
                "(skl2onnx.supported_converters())"
            ) from None
    serialized: bytes = model.SerializeToString()
    return serialized
