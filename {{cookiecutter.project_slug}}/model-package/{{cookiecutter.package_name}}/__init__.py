"""The public contract of the model package: what everything outside the package may use.

    import {{ cookiecutter.package_name }} as model

    model.InputRecord        # pydantic model of one input record (input_schema.py)
    model.EXAMPLE_RECORD     # one valid record, as a dict
    model.CLASSES            # the classes' human-readable names (config.yml, data.classes)
    model.make_prediction(records) -> PredictionResult
        # records in (dicts or InputRecord instances); per record the predicted class name, the
        # probability of every class and any validation errors, aligned with the input; never raises
        # for a bad record
    model.load_model() -> ModelMetadata
        # loads the trained model once per process and returns its metadata (version, metrics,
        # classes, features, training data hash); raises ModelNotTrainedError when there is none
    model.__version__        # the package version, which is also the model version

The API, its smoke check, the demo and any batch or monitoring job rely on this contract alone, so
replacing the example model means changing the package, never its consumers.
"""

from loguru import logger

from ._version import __version__
from .input_schema import EXAMPLE_RECORD, InputRecord
from .persistence import ModelNotTrainedError
from .predict import CLASSES, ModelMismatchError, load_model, make_prediction
from .schemas import HoldoutMetrics, ModelMetadata, PredictionResult, RecordError

__all__ = [
    "CLASSES",
    "EXAMPLE_RECORD",
    "HoldoutMetrics",
    "InputRecord",
    "ModelMetadata",
    "ModelMismatchError",
    "ModelNotTrainedError",
    "PredictionResult",
    "RecordError",
    "__version__",
    "load_model",
    "make_prediction",
]

# A library stays quiet until the application opts in with logger.enable(__name__), as loguru
# recommends; it never adds or removes handlers of its own.
logger.disable(__name__)
