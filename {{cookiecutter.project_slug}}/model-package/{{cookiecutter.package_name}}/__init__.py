"""The public contract of the model package: what everything outside the package may use.

    import {{ cookiecutter.package_name }} as model

    model.InputRecord        # pydantic model of one input record (input_schema.py)
    model.EXAMPLE_RECORD     # one valid record, as a dict
    model.PERSONAL_FIELDS    # input fields that identify a person: never stored as sent
    model.CLASSES            # the classes' names, in the order of config.yml's data.classes
    model.make_prediction(records) -> PredictionResult
        # records in (dicts or InputRecord instances); out, aligned with the input: .labels (the
        # predicted class name, None for an invalid record), .probabilities ({class name:
        # probability}, in CLASSES order, or None) and .errors (RecordError: index, field,
        # message); a bad record is reported, never raised
    model.load_model() -> ModelMetadata
        # loads the trained model once per process and returns its metadata: version, estimator,
        # classes (in the model's output order), HoldoutMetrics, features, training data hash.
        # Raises ModelNotTrainedError when there is no trained model, ModelMismatchError when it
        # does not fit config.yml; make_prediction raises the same.
    model.load_card("html" | "markdown") -> str
        # the model card: metrics, plots (HTML only), data, versions, the release gate's decision
    model.model_features(records) -> {feature: [values]}
        # the model's inputs for validated records (dicts): what a prediction log keeps for drift
    model.drift_report(features, predicted_labels) -> DriftReport
    model.PSI_THRESHOLDS     # (0.1, 0.25): below, stable; from the second, drift; between, moderate
        # population stability index of each feature and of the predicted classes, against the
        # profile of the training data stored in the metadata
    model.classification_scores(truth, probabilities, classes) -> {accuracy, log_loss, roc_auc}
        # the holdout's figures, computed the same way on live outcomes (numpy only)
    model.__version__        # the package version, which is also the model version
    model.DISTRIBUTION       # the name pip installs the package by

The API, its smoke check, the demo and any batch or monitoring job rely on this contract alone, so
replacing the example model means changing the package, never its consumers.
"""

from loguru import logger

from ._version import DISTRIBUTION, __version__
from .drift import PSI_THRESHOLDS, drift_report, model_features
from .input_schema import EXAMPLE_RECORD, InputRecord
from .persistence import ModelNotTrainedError, load_card
from .predict import CLASSES, ModelMismatchError, load_model, make_prediction
from .results import (
    PERSONAL_FIELDS,
    DriftReport,
    HoldoutMetrics,
    ModelMetadata,
    PredictionResult,
    RecordError,
)
from .scores import classification_scores

__all__ = [
    "CLASSES",
    "DISTRIBUTION",
    "EXAMPLE_RECORD",
    "PERSONAL_FIELDS",
    "PSI_THRESHOLDS",
    "DriftReport",
    "HoldoutMetrics",
    "InputRecord",
    "ModelMetadata",
    "ModelMismatchError",
    "ModelNotTrainedError",
    "PredictionResult",
    "RecordError",
    "__version__",
    "classification_scores",
    "drift_report",
    "load_card",
    "load_model",
    "make_prediction",
    "model_features",
]

# A library stays quiet until the application opts in with logger.enable(__name__), as loguru
# recommends; it never adds or removes handlers of its own.
logger.disable(__name__)
