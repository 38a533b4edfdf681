"""What the package takes and returns around InputRecord: batches, results and the metadata."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from .input_schema import InputRecord

INPUT_FIELDS: tuple[str, ...] = tuple(InputRecord.model_fields)
# Fields that identify a person (json_schema_extra={"personal": True} in input_schema.py).
PERSONAL_FIELDS: tuple[str, ...] = tuple(
    name
    for name, field in InputRecord.model_fields.items()
    if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("personal")
)
# Validates or dumps a whole batch in one call into pydantic-core, not one call per record.
RECORD_LIST = TypeAdapter(list[InputRecord])


Task = Literal["classification", "regression"]


class ClassificationMetrics(BaseModel):
    """A classifier's scores on the holdout. Two classes: of the positive class (the first in
    config.yml). More: macro averages over the classes (ROC AUC one-vs-rest)."""

    accuracy: float
    roc_auc: float
    precision: float
    recall: float
    f1: float
    log_loss: float


class RegressionMetrics(BaseModel):
    """A regression's scores on the holdout, in the target's units (R² has none), and how its
    prediction interval did there: the share of true values inside it, and its width."""

    mae: float
    rmse: float
    r2: float
    median_absolute_error: float
    interval_coverage: float
    interval_width: float


HoldoutMetrics = ClassificationMetrics | RegressionMetrics
METRICS: dict[Task, type[ClassificationMetrics] | type[RegressionMetrics]] = {
    "classification": ClassificationMetrics,
    "regression": RegressionMetrics,
}
# Holdout metrics where a smaller value is the better one; larger is better for the others.
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse", "median_absolute_error"})
# Reported, never gated: a wider interval always covers more, so neither direction is better.
NOT_GATED = frozenset({"interval_coverage", "interval_width"})


class FeatureLists(BaseModel):
    numeric: list[str]
    categorical: list[str]


class GateComparison(BaseModel):
    """One metric of the promotion gate: both models scored on the candidate's holdout rows."""

    metric: str
    published: float
    candidate: float
    tolerance: float = Field(description="How much worse than the published model may pass.")
    passed: bool


class GateRecord(BaseModel):
    """The promotion gate's decision (tox -e gate), recorded before the build that ships it."""

    checked_at: datetime
    published_version: str | None = Field(description="The model compared with; None: the first.")
    rows: int = Field(description="Holdout rows both models scored.")
    comparisons: list[GateComparison]
    published_data_sha256: str | None = Field(
        description="The training data hash of the published model, to show when it differs."
    )
    passed: bool
    override_reason: str | None = Field(
        description="Why a model that failed the comparison was released (GATE_OVERRIDE_REASON)."
    )


class FeatureProfile(BaseModel):
    """One model input in training: its bins (numbers: quantile bins, then missing; categories:
    the common ones, then all others pooled) and the share of training rows in each."""

    kind: Literal["numeric", "categorical"]
    bins: list[str]
    shares: list[float]
    edges: list[float] = Field(default_factory=list, description="Numbers: the inner bin edges.")


class DataProfile(BaseModel):
    """What the model learned from, compactly: the reference that drift is measured against."""

    rows: int
    features: dict[str, FeatureProfile]
    predictions: FeatureProfile = Field(
        description="The predictions on the training rows: the share of each class, or of each "
        "quantile bin of the predicted values."
    )


class FeatureDrift(BaseModel):
    feature: str
    kind: Literal["numeric", "categorical"]
    psi: float = Field(description="Population stability index, live against training.")
    status: Literal["stable", "moderate drift", "drift"]
    reference: dict[str, float] = Field(description="Training share of each bin.")
    live: dict[str, float] = Field(description="Live share of each bin.")


class DriftReport(BaseModel):
    rows: int
    features: list[FeatureDrift]
    predictions: FeatureDrift = Field(
        description="The predictions' distribution: classes, or quantile bins of the values."
    )


class Interval(BaseModel):
    """A regression's conformal prediction interval: the value plus or minus half_width, which
    is the coverage quantile of absolute residuals on training rows each model of a
    cross-validation never saw."""

    coverage: float = Field(description="The share of true values it is meant to hold.")
    half_width: float


class Served(BaseModel):
    predictions: int = Field(description="Predictions logged in the harvest's time.")
    outcomes: int = Field(description="How many of them got an outcome.")


class HarvestSummary(BaseModel):
    """What the API's harvest writes beside the logged rows, and training reads (logged.py)."""

    since: datetime | None
    until: datetime | None
    harvested_at: datetime
    rows: int
    csv_sha256: str = Field(description="The CSV written with it: a pair from one harvest.")
    duplicates_merged: int = Field(description="Rows of a record sent again, merged into one.")
    left_out: dict[str, int] = Field(description="Rows refused, by reason.")
    versions: dict[str, Served] = Field(description="Per model version, in the harvest's time.")


class LoggedData(BaseModel):
    """The rows of the service's log a model was trained on (logged.py)."""

    file: str
    sha256: str
    rows: int = Field(description="Logged rows trained on or held out, after config.yml's rule.")
    cut_by_rule: int = Field(
        description="Logged rows config.yml's rule left out: too old, or over the cap."
    )
    harvest: HarvestSummary
    first: datetime | None = Field(description="When the oldest of those rows was predicted.")
    last: datetime | None = Field(description="When the newest was predicted.")
    versions: dict[str, int] = Field(description="Rows per model version that predicted them.")
    outcome_share: dict[str, float] = Field(
        description="Per version of these rows, the share of its logged predictions that got an "
        "outcome."
    )
    warnings: list[str] = Field(
        description="Why these rows may not represent the traffic: feedback-loop bias."
    )


class ModelMetadata(BaseModel):
    """Written beside the artifact: what was trained, on what, how well, and the release gate."""

    name: str
    version: str
    trained_at: datetime
    task: Task
    estimator: str = Field(description="The estimator chosen in config.yml.")
    params: dict[str, Any] = Field(description="The estimator parameters it was trained with.")
    target: str = Field(description="The column of the training data the model predicts.")
    classes: list[str] = Field(
        description="Class names, in the order of the model's outputs; none for a regression."
    )
    interval: Interval | None = Field(description="A regression's prediction interval.")
    data_file: str
    data_sha256: str
    python_version: str
    libraries: dict[str, str] = Field(
        default_factory=dict, description="Versions of the libraries that trained and converted it."
    )
    n_train: int
    n_holdout: int
    metrics: HoldoutMetrics
    input_fields: list[str]
    features: FeatureLists
    gate: GateRecord | None = Field(
        default=None, description="The comparison with the published model; None until gated."
    )
    profile: DataProfile | None = Field(
        default=None, description="The training inputs' profile, for drift; no raw rows."
    )
    logged: LoggedData | None = Field(
        default=None, description="The service's logged rows among n_train and n_holdout."
    )


class RecordError(BaseModel):
    index: int = Field(description="Position of the record in the batch.")
    field: str = Field(description="Path of the offending field; empty for the record as a whole.")
    message: str


class PredictionResult(BaseModel):
    """One entry per input record, in input order; None where the record was invalid. A
    classifier fills labels and probabilities, a regression values and intervals; the other
    task's lists are empty."""

    model_version: str
    labels: list[str | None] = Field(
        default_factory=list, description="The predicted class name of each record."
    )
    probabilities: list[dict[str, float] | None] = Field(
        default_factory=list, description="The probability of every class, by class name."
    )
    values: list[float | None] = Field(
        default_factory=list, description="The predicted value of each record."
    )
    intervals: list[tuple[float, float] | None] = Field(
        default_factory=list,
        description="The prediction interval (lower, upper) of each value, at the coverage of "
        "the model's metadata.",
    )
    errors: list[RecordError]
