"""Predictions for a batch of records; invalid records are reported, never raised.

Serving runs the ONNX form of the pipeline in ONNX Runtime; the scikit-learn pipeline is the
reference it is tested against (tests/model/test_predict.py).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError

from . import __version__
from .config import config
from .features import ModelInputs, model_inputs
from .persistence import load_session
from .schemas import PASSENGER_LIST, PredictionResult, RecordError

DECISION_THRESHOLD = 0.5
ONNX_PROBABILITIES = "probabilities"  # the output skl2onnx names (pipeline.to_onnx)


def validate_records(
    records: Sequence[Mapping[str, Any]],
) -> tuple[list[int], list[dict[str, Any]], list[RecordError]]:
    """Validate the whole batch in one call: (valid indexes, their clean values, errors)."""
    records = list(records)
    try:
        clean = PASSENGER_LIST.validate_python(records)
        return list(range(len(records))), PASSENGER_LIST.dump_python(clean), []
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
    clean = PASSENGER_LIST.validate_python([records[index] for index in good])
    return good, PASSENGER_LIST.dump_python(clean), errors


def session_feed(columns: ModelInputs) -> ModelInputs:
    """ONNX takes (n, 1) columns: numbers as float32, categories as strings."""
    return {
        name: (values if values.dtype == object else values.astype(np.float32)).reshape(-1, 1)
        for name, values in columns.items()
    }


def predict_probabilities(clean: Sequence[Mapping[str, Any]]) -> list[float]:
    """Survival probabilities of records that already passed the input schema."""
    if not clean:
        return []
    columns = model_inputs(clean, config.features.numeric, config.features.categorical)
    (probabilities,) = load_session().run([ONNX_PROBABILITIES], session_feed(columns))
    survival: list[float] = probabilities[:, 1].tolist()
    return survival


def make_prediction(records: Sequence[Mapping[str, Any]]) -> PredictionResult:
    """Survival label and probability for each record, aligned with the input."""
    labels: list[int | None] = [None] * len(records)
    probabilities: list[float | None] = [None] * len(records)
    indexes, clean, errors = validate_records(records)
    for index, probability in zip(indexes, predict_probabilities(clean), strict=True):
        labels[index] = int(probability >= DECISION_THRESHOLD)
        probabilities[index] = probability
    return PredictionResult(
        model_version=__version__, labels=labels, probabilities=probabilities, errors=errors
    )
