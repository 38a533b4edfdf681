"""What the package takes and returns around InputRecord: batches, results and the metadata."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter

from .input_schema import InputRecord

INPUT_FIELDS: tuple[str, ...] = tuple(InputRecord.model_fields)
# Validates or dumps a whole batch in one call into pydantic-core, not one call per record.
RECORD_LIST = TypeAdapter(list[InputRecord])


class HoldoutMetrics(BaseModel):
    """Scores on the holdout. Two classes: of the positive class (the first in config.yml).
    More: macro averages over the classes (ROC AUC one-vs-rest)."""

    accuracy: float
    roc_auc: float
    precision: float
    recall: float
    f1: float
    log_loss: float


class FeatureLists(BaseModel):
    numeric: list[str]
    categorical: list[str]


class ModelMetadata(BaseModel):
    """The model card written beside the artifact: what was trained, on what, and how well."""

    name: str
    version: str
    trained_at: datetime
    estimator: str = Field(description="The estimator chosen in config.yml.")
    params: dict[str, Any] = Field(description="The estimator parameters it was trained with.")
    target: str = Field(description="The column of the training data the model predicts.")
    classes: list[str] = Field(description="Class names, in the order of the model's outputs.")
    data_file: str
    data_sha256: str
    python_version: str
    sklearn_version: str
    n_train: int
    n_holdout: int
    metrics: HoldoutMetrics
    input_fields: list[str]
    features: FeatureLists


class RecordError(BaseModel):
    index: int = Field(description="Position of the record in the batch.")
    field: str = Field(description="Path of the offending field; empty for the record as a whole.")
    message: str


class PredictionResult(BaseModel):
    """One entry per input record, in input order; None where the record was invalid."""

    model_version: str
    labels: list[str | None] = Field(description="The predicted class name of each record.")
    probabilities: list[dict[str, float] | None] = Field(
        description="The probability of every class, by class name."
    )
    errors: list[RecordError]
