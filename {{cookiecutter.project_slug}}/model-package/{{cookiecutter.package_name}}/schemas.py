"""The input schema of one passenger: the single source of truth for a prediction record."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

EXAMPLE_PASSENGER: dict[str, Any] = {
    "pclass": 1,
    "name": "Allen, Miss. Elisabeth Walton",
    "sex": "female",
    "age": 29.0,
    "sibsp": 0,
    "parch": 0,
    "fare": 211.3375,
    "cabin": "B5",
    "embarked": "S",
}


class PassengerRecord(BaseModel):
    """One passenger as the model sees it; missing values are null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_PASSENGER]})

    pclass: Literal[1, 2, 3] = Field(description="Ticket class: 1 = first, 2 = second, 3 = third.")
    name: str = Field(
        min_length=1,
        max_length=200,
        description="Full name as on the passenger list: 'Surname, Title. Given names'.",
    )
    sex: Literal["female", "male"]
    age: float | None = Field(default=None, ge=0, le=120, description="Age in years.")
    sibsp: int = Field(ge=0, le=20, description="Siblings and spouses aboard.")
    parch: int = Field(ge=0, le=20, description="Parents and children aboard.")
    fare: float | None = Field(default=None, ge=0, le=10_000, description="Fare in pounds.")
    cabin: str | None = Field(default=None, max_length=50, description="Cabin, e.g. 'C85'.")
    embarked: Literal["C", "Q", "S"] | None = Field(
        default=None, description="Port: C = Cherbourg, Q = Queenstown, S = Southampton."
    )


INPUT_FIELDS: tuple[str, ...] = tuple(PassengerRecord.model_fields)
# Validates or dumps a whole batch in one call into pydantic-core, not one call per record.
PASSENGER_LIST = TypeAdapter(list[PassengerRecord])


class HoldoutMetrics(BaseModel):
    accuracy: float
    roc_auc: float
    precision: float
    recall: float
    log_loss: float


class FeatureLists(BaseModel):
    numeric: list[str]
    categorical: list[str]


class ModelMetadata(BaseModel):
    """The model card written beside the artifact: what was trained, on what, and how well."""

    name: str
    version: str
    trained_at: datetime
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
    index: int = Field(description="Position of the record in the request.")
    field: str = Field(description="Path of the offending field; empty for the record as a whole.")
    message: str


class PredictionResult(BaseModel):
    """Labels and survival probabilities aligned with the input; None where a record was invalid."""

    model_version: str
    labels: list[int | None]
    probabilities: list[float | None]
    errors: list[RecordError]
