"""The API's envelopes around the model package's contract (never a second copy of its schema)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from {{ cookiecutter.package_name }} import (
    CLASSES,
    EXAMPLE_RECORD,
    PSI_THRESHOLDS,
    DriftReport,
    InputRecord,
    ModelMetadata,
)


class PredictionRequest(BaseModel):
    records: list[InputRecord] = Field(
        min_length=1, description="Records to score.", examples=[[EXAMPLE_RECORD]]
    )


# The answer to a prediction is written by the route from its own values (checking a model per
# record cost more than the prediction): TypedDicts, so that mypy checks the route's keys.
class Prediction(TypedDict):
    prediction_id: Annotated[
        str,
        Field(
            description="This record's id in the prediction log: send it with the outcome to "
            "POST /api/v1/feedback."
        ),
    ]
    label: Annotated[
        str,
        Field(
            description="The predicted class: the most probable one.",
            json_schema_extra={"enum": list(CLASSES)},
        ),
    ]
    probabilities: Annotated[
        dict[str, float],
        Field(
            description="The probability of every class, by class name.",
            json_schema_extra={"propertyNames": {"enum": list(CLASSES)}},
        ),
    ]


class PredictionResponse(TypedDict):
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


def known_class(label: str) -> str:
    if label not in CLASSES:
        raise ValueError(f"not one of the model's classes: {', '.join(CLASSES)}")
    return label


class FeedbackRequest(BaseModel):
    prediction_id: str = Field(
        min_length=1, max_length=160, description="The id a prediction answered with."
    )
    label: Annotated[str, AfterValidator(known_class)] = Field(
        description="The outcome: the class it really was.",
        json_schema_extra={"enum": list(CLASSES)},
    )
    note: str | None = Field(
        default=None, max_length=2000, pattern=r"^[^\x00]*$", description="Anything to add."
    )


class FeedbackResponse(BaseModel):
    prediction_id: str
    label: str = Field(description="The outcome recorded.")
    predicted_label: str = Field(description="What the model predicted.")
    model_version: str
    note: str | None
    recorded_at: datetime


class Estimate(BaseModel):
    value: float
    low: float = Field(description="95% interval (Wilson), lower end.")
    high: float = Field(description="95% interval (Wilson), upper end.")


class VersionQuality(BaseModel):
    model_version: str
    predictions: int = Field(description="Predictions logged in the window.")
    with_outcome: int = Field(description="Of those, the ones with an outcome (feedback).")
    accuracy: Estimate | None = None
    log_loss: float | None = None
    roc_auc: float | None = Field(
        default=None, description="Of the first class for two classes, else the macro average."
    )
    holdout: dict[str, float] | None = Field(
        default=None, description="The served model's holdout figures, from its metadata."
    )
    verdict: Literal["insufficient data", "in line with the holdout", "worse than the holdout"]


class QualityReport(BaseModel):
    since: datetime
    minimum_outcomes: int = Field(description="Fewer outcomes than this: insufficient data.")
    versions: list[VersionQuality]


class DriftAnswer(BaseModel):
    since: datetime
    model_version: str = Field(description="The served version, whose predictions are compared.")
    rows: int = Field(
        description="The predictions measured: those since then, or the newest of them when "
        "there are more than the drift sample holds (DRIFT_MAX_ROWS in app/monitoring.py)."
    )
    minimum_rows: int = Field(description="Fewer rows than this: the PSI is noise.")
    enough_data: bool
    report: DriftReport | None = Field(
        description="PSI per feature and of the predicted classes; thresholds: below "
        f"{PSI_THRESHOLDS[0]} stable, from {PSI_THRESHOLDS[1]} drift. None without rows or "
        "without a training profile."
    )
