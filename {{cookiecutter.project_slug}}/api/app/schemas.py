"""The API's envelopes around the model package's own schemas (never a second copy of them)."""

from typing import Literal

from pydantic import BaseModel, Field

from {{ cookiecutter.package_name }}.schemas import (
    EXAMPLE_PASSENGER,
    ModelMetadata,
    PassengerRecord,
)


class PredictionRequest(BaseModel):
    records: list[PassengerRecord] = Field(
        min_length=1, description="Passengers to score.", examples=[[EXAMPLE_PASSENGER]]
    )


class Prediction(BaseModel):
    label: int = Field(description="1 = survived, 0 = did not survive.")
    survival_probability: float


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


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    model_version: str
    reason: str | None = None


class ModelInfo(ModelMetadata):
    distribution: str = Field(description="The pip distribution that ships the model.")
