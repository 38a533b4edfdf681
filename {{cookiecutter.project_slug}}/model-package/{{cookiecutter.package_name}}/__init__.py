"""The public contract of the model package: what everything outside the package may use.

    import {{ cookiecutter.package_name }} as model

    model.InputRecord        # pydantic model of one input record (input_schema.py)
    model.EXAMPLE_RECORD     # one valid record, as a dict
    model.PERSONAL_FIELDS    # input fields that identify a person: never stored as sent
    model.TASK               # "classification" or "regression" (config.yml's task)
    model.CLASSES            # the classes' names, in the order of config.yml's data.classes;
                             # empty for a regression
    model.TARGET             # the data's column the model predicts (config.yml's data.target)
    model.LOGGED_FILE        # the file under datasets/ that training reads logged outcomes from
                             # (logged.py): the API's harvest writes it, with a summary beside it
    model.LOGGED_PROVENANCE  # its columns besides the input fields and the target
    model.HarvestSummary     # what the harvest writes beside it, and training reads
    model.make_prediction(records) -> PredictionResult
        # records in (dicts or InputRecord instances); out, aligned with the input, None for an
        # invalid record. A classifier: .labels (the predicted class name) and .probabilities
        # ({class name: probability}, in CLASSES order). A regression: .values (the predicted
        # number) and .intervals ((lower, upper), holding the metadata's interval.coverage of
        # true values). And .errors (RecordError: index, field, message): a bad record is
        # reported, never raised
    model.load_model() -> ModelMetadata
        # loads the trained model once per process and returns its metadata: version, task,
        # estimator, classes (in the model's output order) or interval, HoldoutMetrics, features,
        # training data hash.
        # Raises ModelNotTrainedError when there is no trained model, ModelMismatchError when it
        # does not fit config.yml; make_prediction raises the same.
    model.load_card("html" | "markdown") -> str
        # the model card: metrics, plots (HTML only), data, versions, the release gate's decision
    model.model_features(records) -> {feature: [values]}
        # the model's inputs for validated records (dicts): what a prediction log keeps for drift
    model.drift_report(features, predicted_labels_or_values) -> DriftReport
    model.PSI_THRESHOLDS     # (0.1, 0.25): below, stable; from the second, drift; between, moderate
        # population stability index of each feature and of the predictions, against the
        # profile of the training data stored in the metadata
    model.value_bins(values, profile) -> [bin]
        # each predicted value's bin of metadata.profile.predictions, as drift_report counts it
    model.classification_scores(truth, probabilities, classes) -> {accuracy, log_loss, roc_auc}
    model.regression_scores(truth, values, lower, upper) -> {mae, rmse, r2, ..., coverage}
        # the holdout's figures, computed the same way on live outcomes (numpy only)
    model.__version__        # the package version, which is also the model version
    model.DISTRIBUTION       # the name pip installs the package by

The API, its smoke check, the demo and any batch or monitoring job rely on this contract alone, so
replacing the example model means changing the package, never its consumers.
"""

from loguru import logger

from ._version import DISTRIBUTION, __version__
from .config import LOGGED_FILE, LOGGED_PROVENANCE
from .drift import PSI_THRESHOLDS, drift_report, model_features, value_bins
from .input_schema import EXAMPLE_RECORD, InputRecord
from .persistence import ModelNotTrainedError, load_card
from .predict import CLASSES, TARGET, TASK, ModelMismatchError, load_model, make_prediction
from .results import (
    PERSONAL_FIELDS,
    ClassificationMetrics,
    DriftReport,
    HarvestSummary,
    HoldoutMetrics,
    ModelMetadata,
    PredictionResult,
    RecordError,
    RegressionMetrics,
)
from .scores import classification_scores, regression_scores

__all__ = [
    "CLASSES",
    "DISTRIBUTION",
    "EXAMPLE_RECORD",
    "LOGGED_FILE",
    "LOGGED_PROVENANCE",
    "PERSONAL_FIELDS",
    "PSI_THRESHOLDS",
    "TARGET",
    "TASK",
    "ClassificationMetrics",
    "DriftReport",
    "HarvestSummary",
    "HoldoutMetrics",
    "InputRecord",
    "ModelMetadata",
    "ModelMismatchError",
    "ModelNotTrainedError",
    "PredictionResult",
    "RecordError",
    "RegressionMetrics",
    "__version__",
    "classification_scores",
    "drift_report",
    "load_card",
    "load_model",
    "make_prediction",
    "model_features",
    "regression_scores",
    "value_bins",
]

# A library stays quiet until the application opts in with logger.enable(__name__), as loguru
# recommends; it never adds or removes handlers of its own.
logger.disable(__name__)
