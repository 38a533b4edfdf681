"""The API's envelopes around the model package's contract (never a second copy of its schema)."""

from typing import Literal

from pydantic import BaseModel, Field

from {{ cookiecutter.package_name }} import (
    CLASSES,
    EXAMPLE_RECORD,
    InputRecord,
    ModelMetadata,
)


class PredictionRequest(BaseModel):
    records: list[InputRecord] = Field(
        min_length=1, description="Records to score.", examples=[[EXAMPLE_RECORD]]
    )


class Prediction(BaseModel):
    label: str = Field(
        description="The predicted class: the most probable one.",
        json_schema_extra={"enum": list(CLASSES)},
    )
    probabilities: dict[str, float] = Field(
        description="The probability of every class, by class name.",
        json_schema_extra={"propertyNames": {"enum": list(CLASSES)}},
    )


class PredictionResponse(BaseModel):
    predictions: list[Prediction]
    model_version: str
    api_version: str
    request_id: str


class FieldError(BaseModel):
    index: int | None = Field(description="Position of the bad record in `records`, if any.")
    field: str = Field(description="Path of the offending field inside the record.")
    message: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[FieldError] = []
    request_id: str


class Health(BaseModel):
    status: Literal["ok"]
    api_version: str
    model_version: str
    commit: str = Field(description="The commit deployed, or 'unknown' outside a deploy.")


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    model_version: str
    reason: str | None = None


class ModelInfo(ModelMetadata):
    distribution: str = Field(description="The pip distribution that ships the model.")
