"""Predictions for a batch of records; invalid records are reported, never raised."""

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from . import __version__
from .config import config
from .features import to_model_frame
from .persistence import load_pipeline
from .schemas import PassengerRecord, PredictionResult, RecordError

DECISION_THRESHOLD = 0.5
_RECORDS = TypeAdapter(list[PassengerRecord])


def validate_records(
    records: Sequence[Mapping[str, Any]],
) -> tuple[list[int], list[dict[str, Any]], list[RecordError]]:
    """Validate the whole batch in one call: (valid indexes, their clean values, errors)."""
    records = list(records)
    try:
        clean = _RECORDS.validate_python(records)
        return list(range(len(records))), _RECORDS.dump_python(clean), []
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
    clean = _RECORDS.validate_python([records[index] for index in good])
    return good, _RECORDS.dump_python(clean), errors


def predict_probabilities(clean: Sequence[Mapping[str, Any]]) -> list[float]:
    """Survival probabilities of records that already passed the input schema."""
    if not clean:
        return []
    frame = pd.DataFrame.from_records(clean, columns=list(PassengerRecord.model_fields))
    inputs = to_model_frame(frame, config.features.numeric, config.features.categorical)
    survival: list[float] = load_pipeline().predict_proba(inputs)[:, 1].tolist()
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
