"""The API's envelopes around the model package's contract (never a second copy of its schema).

The answers and outcomes follow the model's task (app/answers.py): models that hold both tasks'
fields show only this task's in the OpenAPI document, and refuse the other's.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from {{ cookiecutter.package_name }} import (
    CLASSES,
    EXAMPLE_RECORD,
    PSI_THRESHOLDS,
    DriftReport,
    InputRecord,
    ModelMetadata,
)

from app.answers import CLASSIFICATION, OTHER_TASK_FIELDS, OUTCOME
from app.paired_test import Decision


class PredictionRequest(BaseModel):
    records: list[InputRecord] = Field(
        min_length=1, description="Records to score.", examples=[[EXAMPLE_RECORD]]
    )


# The answer to a prediction, as the OpenAPI document states it. app/answers.py writes it from the
# model's columns without validating it (a model per record cost more than the prediction);
# Schemathesis (tests/test_fuzz.py) checks the answers against this schema.
PredictionId = Annotated[
    str,
    Field(
        description="This record's id in the prediction log: send it with the outcome to "
        "POST /api/v1/feedback."
    ),
]


class ClassPrediction(TypedDict):
    prediction_id: PredictionId
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


class ValuePrediction(TypedDict):
    prediction_id: PredictionId
    value: Annotated[float, Field(description="The predicted value.")]
    lower: Annotated[
        float,
        Field(
            description="The interval's lower end: the interval holds the share of true values "
            "that the model's metadata states (interval.coverage, GET /api/v1/model)."
        ),
    ]
    upper: Annotated[float, Field(description="The interval's upper end.")]


class ClassPredictionResponse(TypedDict):
    predictions: list[ClassPrediction]
    model_version: str
    api_version: str
    request_id: str


class ValuePredictionResponse(TypedDict):
    predictions: list[ValuePrediction]
    model_version: str
    api_version: str
    request_id: str


# What POST /api/v1/predict answers, for this model's task.
PredictionResponse: Any = ClassPredictionResponse if CLASSIFICATION else ValuePredictionResponse


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


class ChallengerState(BaseModel):
    version: str = Field(description="The version api/challenger.yml names.")
    state: str = Field(
        description='"serving" in shadow in this worker, or why not (it never makes the '
        "service unready: the answers are the champion's)."
    )


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    model_version: str
    reason: str | None = None
    challenger: ChallengerState | None = None


class ModelInfo(ModelMetadata):
    distribution: str = Field(description="The pip distribution that ships the model.")


def known_class(label: str) -> str:
    if CLASSIFICATION and label not in CLASSES:  # a regression's: outcome_of_this_task refuses
        raise ValueError(f"not one of the model's classes: {', '.join(CLASSES)}")
    return label


def this_task_only(schema: dict[str, Any]) -> None:
    """A JSON schema without the other task's fields, and this task's required, never null."""
    properties = schema["properties"]
    for name in OTHER_TASK_FIELDS:
        properties.pop(name, None)
    present = [name for name in (OUTCOME, f"predicted_{OUTCOME}") if name in properties]
    for name in present:
        kinds = properties[name].pop("anyOf", [])
        options = [kind for kind in kinds if kind != {"type": "null"}] or [{}]
        properties[name].update(options[0])
        properties[name].pop("default", None)
    schema["required"] = [*schema.get("required", []), *present]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra=this_task_only)

    prediction_id: str = Field(
        min_length=1, max_length=160, description="The id a prediction answered with."
    )
    label: Annotated[str, AfterValidator(known_class)] | None = Field(
        default=None,
        description="The outcome: the class it really was.",
        json_schema_extra={"enum": list(CLASSES)},
    )
    value: float | None = Field(
        default=None, allow_inf_nan=False, description="The outcome: the value it really was."
    )
    note: str | None = Field(
        default=None, max_length=2000, pattern=r"^[^\x00]*$", description="Anything to add."
    )

    @model_validator(mode="after")
    def outcome_of_this_task(self) -> "FeedbackRequest":
        if self.outcome is None or getattr(self, OTHER_TASK_FIELDS[0]) is not None:
            kind = "a class of the model" if CLASSIFICATION else "a number"
            raise ValueError(f"send the outcome as {OUTCOME}, {kind}, and nothing else")
        return self

    @property
    def outcome(self) -> str | float | None:
        return self.label if CLASSIFICATION else self.value


class FeedbackResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra=this_task_only)

    prediction_id: str
    label: str | None = Field(default=None, description="The outcome recorded.")
    predicted_label: str | None = Field(default=None, description="What the model predicted.")
    value: float | None = Field(default=None, description="The outcome recorded.")
    predicted_value: float | None = Field(default=None, description="What the model predicted.")
    model_version: str
    note: str | None
    recorded_at: datetime


class Estimate(BaseModel):
    value: float
    low: float = Field(
        description="95% interval, lower end: Wilson's for a share, else a seeded bootstrap's."
    )
    high: float = Field(description="95% interval, upper end.")


class VersionQuality(BaseModel):
    """A classifier's accuracy, log loss and ROC AUC, or a regression's errors and how often
    the true value fell inside the predicted interval."""

    model_version: str
    predictions: int = Field(description="Predictions logged in the window.")
    with_outcome: int = Field(description="Of those, the ones with an outcome (feedback).")
    accuracy: Estimate | None = None
    log_loss: float | None = None
    roc_auc: float | None = Field(
        default=None, description="Of the first class for two classes, else the macro average."
    )
    mae: Estimate | None = Field(default=None, description="Mean absolute error.")
    rmse: Estimate | None = Field(default=None, description="Root mean squared error.")
    interval_coverage: Estimate | None = Field(
        default=None, description="The share of outcomes inside their predicted interval."
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
        description="PSI per feature and of the predictions; thresholds: below "
        f"{PSI_THRESHOLDS[0]} stable, from {PSI_THRESHOLDS[1]} drift. None without rows or "
        "without a training profile."
    )


class ComparisonAnswer(BaseModel):
    champion: str = Field(description="The version that answers (model-package's VERSION).")
    challenger: str = Field(description="The version scored in shadow (api/challenger.yml).")
    metric: Literal["accuracy", "mae"]
    pairs: int = Field(description="Outcomes that score both versions, up to pairs_needed.")
    pairs_needed: int = Field(description="The test runs once, on the first this many.")
    status: str = Field(description='"collecting: n of N", or the decision\'s verdict.')
    decision: Decision | None = Field(description="None until pairs_needed outcomes are in.")
