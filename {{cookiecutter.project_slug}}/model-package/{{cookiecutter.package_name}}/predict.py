"""Predictions for a batch of records; invalid records are reported, never raised.

Serving runs the ONNX form of the pipeline in ONNX Runtime; the scikit-learn pipeline is the
reference it is tested against (tests/model/test_estimators.py).
"""

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ValidationError

from ._version import __version__
from .columns import Columns, ModelInputs, model_inputs, to_columns
from .config import config
from .persistence import load_metadata, load_session
from .results import RECORD_LIST, ModelMetadata, PredictionResult, RecordError

TASK = config.task
TARGET = config.data.target
# The classes' names in the order config.yml lists them; none for a regression.
CLASSES: tuple[str, ...] = config.data.class_names
ONNX_PROBABILITIES = "probabilities"  # a classifier's output, as skl2onnx names it


class ModelMismatchError(RuntimeError):
    """The trained artifact does not fit this package's config.yml: it needs retraining."""


def validate_records(
    records: Sequence[Mapping[str, Any] | BaseModel], from_text: bool = False
) -> tuple[list[int], list[dict[str, Any]], list[RecordError]]:
    """Validate the whole batch in one call: (valid indexes, their clean values, errors).

    InputRecord instances (an API has validated them already) pass through without a second check.
    from_text: the values were read from text, and are checked laxly (strict_record.py).
    """
    records = list(records)
    strict = False if from_text else None  # None: the record's own rule (strict_record.py)
    try:
        clean = RECORD_LIST.validate_python(records, strict=strict)
        return list(range(len(records))), RECORD_LIST.dump_python(clean), []
    except ValidationError as error:
        errors = [
            RecordError(
                index=int(item["loc"][0]),
                field=".".join(map(str, item["loc"][1:])),
                message=item["msg"],
            )
            for item in error.errors()
        ]
    bad = {error.index for error in errors}
    good = [index for index in range(len(records)) if index not in bad]
    clean = RECORD_LIST.validate_python([records[index] for index in good], strict=strict)
    return good, RECORD_LIST.dump_python(clean), errors


@cache
def load_model() -> ModelMetadata:
    """Load the packaged model once per process; its metadata, after checking it fits config.yml.

    Raises ModelNotTrainedError when the package has no trained model for its version, and
    ModelMismatchError when the model's task or classes are not the configured ones.
    """
    metadata = load_metadata()
    load_session()
    if metadata.task != TASK or sorted(metadata.classes) != sorted(CLASSES):
        raise ModelMismatchError(
            f"the trained model is a {metadata.task} of {metadata.classes or 'numbers'}, but "
            f"config.yml says {TASK} of {list(CLASSES) or 'numbers'}; retrain it with "
            "`tox -e train`"
        )
    return metadata


def session_feed(inputs: ModelInputs) -> ModelInputs:
    """ONNX takes (n, 1) columns: numbers as float32, categories as strings."""
    return {
        name: (values if values.dtype.kind in "OU" else values.astype(np.float32)).reshape(-1, 1)
        for name, values in inputs.items()
    }


def _feed(columns: Columns) -> ModelInputs:
    features = load_model().features
    return session_feed(model_inputs(columns, features.numeric, features.categorical))


def class_scores(columns: Columns) -> tuple[list[str], npt.NDArray[np.float32]]:
    """The predicted class names of valid records' columns, and the probabilities in CLASSES order.

    The label is the most probable class; the probabilities are listed as config.yml lists them.
    """
    metadata = load_model()
    (scores,) = load_session().run([ONNX_PROBABILITIES], _feed(columns))
    winners = [metadata.classes[column] for column in scores.argmax(axis=1).tolist()]
    order = [metadata.classes.index(name) for name in CLASSES]
    probabilities: npt.NDArray[np.float32] = scores[:, order]
    return winners, probabilities


def value_scores(columns: Columns) -> tuple[npt.NDArray[np.float64], float]:
    """A regression's predicted values for valid records' columns, and the half width of their
    interval (the metadata's)."""
    interval = load_model().interval
    if interval is None:
        raise ModelMismatchError("the regression model has no interval; retrain it")
    session = load_session()
    (values,) = session.run([session.get_outputs()[0].name], _feed(columns))
    return values.astype(np.float64).ravel(), interval.half_width


def make_prediction(records: Sequence[Mapping[str, Any] | BaseModel]) -> PredictionResult:
    """Per record, aligned with the input: a classifier's class name and every class's
    probability, or a regression's value and its interval."""
    if TASK == "regression":
        return _predict_values(records)
    labels: list[str | None] = [None] * len(records)
    probabilities: list[dict[str, float] | None] = [None] * len(records)
    indexes, clean, errors = validate_records(records)
    if clean:
        winners, scores = class_scores(to_columns(clean))
        for index, winner, row in zip(indexes, winners, scores.tolist(), strict=True):
            labels[index] = winner
            probabilities[index] = dict(zip(CLASSES, row, strict=True))
    # Our own values, of the right types already: no need to validate them again.
    return PredictionResult.model_construct(
        model_version=__version__,
        labels=labels,
        probabilities=probabilities,
        values=[],
        intervals=[],
        errors=errors,
    )


def _predict_values(records: Sequence[Mapping[str, Any] | BaseModel]) -> PredictionResult:
    values: list[float | None] = [None] * len(records)
    intervals: list[tuple[float, float] | None] = [None] * len(records)
    indexes, clean, errors = validate_records(records)
    if clean:
        predicted, half_width = value_scores(to_columns(clean))
        for index, value in zip(indexes, predicted.tolist(), strict=True):
            values[index] = value
            intervals[index] = (value - half_width, value + half_width)
    return PredictionResult.model_construct(
        model_version=__version__,
        labels=[],
        probabilities=[],
        values=values,
        intervals=intervals,
        errors=errors,
    )
