"""The fitted part of the model: standard scikit-learn steps, then the estimator config.yml names.

`model.estimator` is a short name from ALIASES or any scikit-learn-API classifier by its import
path (`sklearn.ensemble.ExtraTreesClassifier`, `xgboost.XGBClassifier`, `lightgbm.LGBMClassifier`),
with no code to change. `model.params` are checked against the estimator's own get_params(). It
learns encoded classes (XGBoost takes no others) and answers with their names. ONNX is the serving
format: skl2onnx converts, with onnxmltools' converters for XGBoost and LightGBM, and an estimator
that no converter knows stops training with one line once it is fitted (skl2onnx has no public
registry to ask before). tests/model/test_estimators.py holds each
alias, and estimators by their path, to scikit-learn through ONNX on the whole holdout.
"""

import difflib
import importlib
import importlib.metadata
import warnings
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

from .config import Config, ConfigError, ModelConfig

# The default domain's opset, and the ai.onnx.ml one that onnxmltools' tree converters support.
ONNX_OPSET = {"": 17, "ai.onnx.ml": 3}

ALIASES = {
    "logistic_regression": "sklearn.linear_model.LogisticRegression",
    "random_forest": "sklearn.ensemble.RandomForestClassifier",
    "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
}
# Trees split on raw numbers, and unscaled inputs keep their splits in ONNX's float32 exactly where
# scikit-learn put them. Every other estimator (linear, kernel, neighbours) gets standardised ones.
TREE_MODULES = ("sklearn.tree", "sklearn.ensemble", "xgboost", "lightgbm")
# Estimators of other distributions, each installed by the package extra of its module's name, and
# the onnxmltools converters that turn them into ONNX.
ONNXMLTOOLS_CONVERTERS = {
    "xgboost.XGBClassifier": "xgboost.operator_converters.XGBoost.convert_xgboost",
    "lightgbm.LGBMClassifier": "lightgbm.operator_converters.LightGbm.convert_lightgbm",
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


def resolve_estimator(model: ModelConfig, seed: int) -> tuple[Estimator, dict[str, Any]]:
    """The chosen estimator and its parameters, checked against its own, with the seed added if
    it takes one. It must be a classifier that gives class probabilities."""
    factory = estimator_class(model.estimator)
    try:
        allowed = sorted(factory().get_params())
    except TypeError as error:  # meta-estimators: VotingClassifier, StackingClassifier, ...
        raise ConfigError(
            f"model.estimator: {factory.__name__} cannot be made from config.yml alone ({error}); "
            "choose an estimator whose parameters all have defaults"
        ) from None
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
    classifier = EncodedClassifier(spec.factory(**params))
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def register_converter(estimator: BaseEstimator) -> None:
    """onnxmltools' converter for an estimator of another distribution; skl2onnx knows the rest."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

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
    update_registered_converter(
        factory,
        f"onnxmltools{factory.__name__}",
        calculate_linear_classifier_output_shapes,
        converter,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )


def to_onnx(pipeline: Pipeline, config: Config) -> bytes:
    """The fitted pipeline as an ONNX graph with one input per feature column. It converts the
    estimator fitted on encoded classes: its `label` output is a class's index, and its
    `probabilities` columns are in the order of the pipeline's classes_ (the model's metadata)."""
    from skl2onnx import to_onnx as convert
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator

    estimator = pipeline.steps[-1][1].estimator_
    register_converter(estimator)
    inputs = [(name, FloatTensorType([None, 1])) for name in config.features.numeric]
    inputs += [(name, StringTensorType([None, 1])) for name in config.features.categorical]
    served = Pipeline([*pipeline.steps[:-1], ("classifier", estimator)])
    options = {id(estimator): {"zipmap": False}}
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
