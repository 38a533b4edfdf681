"""Training configuration: config.yml, validated by strict pydantic models."""

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .features import ENGINEERED_FEATURES
from .results import INPUT_FIELDS, LOWER_IS_BETTER, METRICS, NOT_GATED, Task

PACKAGE_ROOT = Path(__file__).resolve().parent
CONFIG_FILE = PACKAGE_ROOT / "config.yml"
DATASET_DIR = PACKAGE_ROOT / "datasets"
# Rows the service logged with outcomes, written into datasets/ by the API's harvest (logged.py):
# the input fields, the target, and these columns, which training keeps as provenance only. Its
# summary is the file of the same name ending in .json. Their folder is a stage input (dvc.yaml).
LOGGED_FILE = "logged/logged.csv"
LOGGED_PROVENANCE = ("prediction_id", "model_version", "predicted_at")
TRAINED_MODEL_DIR = PACKAGE_ROOT / "trained_models"
# The training pipeline's other files, in the development tree around the package (dvc.yaml).
PREPARED_DIR = PACKAGE_ROOT.parent / "data" / "prepared"
REPORTS_DIR = PACKAGE_ROOT.parent / "reports"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(StrictModel):
    file: str = Field(min_length=1)
    missing_values: list[str] = Field(default_factory=list)
    target: str = Field(min_length=1)
    classes: dict[str, str] | None = Field(default=None, min_length=2)

    @field_validator("classes", mode="before")
    @classmethod
    def require_quoted_values(cls, classes: Any) -> Any:
        if isinstance(classes, dict) and (
            unquoted := [value for value in classes if not isinstance(value, str)]
        ):
            raise ValueError(
                f"quote the values of the target column {unquoted}, for example '1': survived "
                "or 'yes': churned (YAML reads 1 as a number and yes as a boolean)"
            )
        return classes

    @field_validator("classes")
    @classmethod
    def check_class_names(cls, classes: dict[str, str] | None) -> dict[str, str] | None:
        if classes is None:
            return classes
        names = list(classes.values())
        if blank := [value for value, name in classes.items() if not name.strip()]:
            raise ValueError(f"classes {blank} have a blank name")
        if duplicated := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"class names used more than once: {duplicated}")
        return classes

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes' names in config.yml's order; none for a regression."""
        return tuple((self.classes or {}).values())


class FeatureConfig(StrictModel):
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def check_columns(self) -> "FeatureConfig":
        columns = self.numeric + self.categorical
        if not columns:
            raise ValueError("no features: list at least one under numeric or categorical")
        known = set(INPUT_FIELDS) | set(ENGINEERED_FEATURES)
        if unknown := [column for column in columns if column not in known]:
            raise ValueError(
                f"unknown features {unknown}; choose from the fields of InputRecord and "
                f"ENGINEERED_FEATURES: {sorted(known)}"
            )
        if duplicated := sorted({column for column in columns if columns.count(column) > 1}):
            raise ValueError(f"features listed more than once: {duplicated}")
        return self

    @property
    def all(self) -> list[str]:
        return self.numeric + self.categorical


class SplitConfig(StrictModel):
    test_size: float = Field(gt=0, lt=1)
    random_state: int
    holdout: Literal["random", "newest"] = "random"


class LoggedConfig(StrictModel):
    """How rows harvested from the service's log join the original data (logged.py)."""

    keep_months: int | None = Field(default=None, gt=0)
    max_share: float = Field(default=0.5, ge=0, le=1)


class ModelConfig(StrictModel):
    """The estimator's name and parameters; estimators.py checks both when it builds the model."""

    estimator: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    # A regression's: the share of true values each prediction's interval should hold.
    interval_coverage: float = Field(default=0.9, gt=0, lt=1)


class ArtifactConfig(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")


class GateConfig(StrictModel):
    """The promotion gate: each holdout metric compared and how much worse it may be."""

    metrics: dict[str, float] = Field(min_length=1)

    @field_validator("metrics")
    @classmethod
    def check_tolerances(cls, metrics: dict[str, float]) -> dict[str, float]:
        if negative := [name for name, tolerance in metrics.items() if tolerance < 0]:
            raise ValueError(f"tolerances of {negative} are negative; 0 allows no loss at all")
        return metrics

    def worse_by(self, metric: str, published: float, candidate: float) -> float:
        """How much worse the candidate is (negative when better), whichever way is better."""
        loss = published - candidate
        return -loss if metric in LOWER_IS_BETTER else loss

    def passes(self, metric: str, published: float, candidate: float) -> bool:
        """Worse by at most the metric's tolerance; 1e-12 more absorbs the difference's float
        rounding, so a tolerance of 0 passes an equal model."""
        return self.worse_by(metric, published, candidate) <= self.metrics[metric] + 1e-12


class CardConfig(StrictModel):
    """What the model card says in words: what the model is for and where it must not be used."""

    intended_use: str = Field(min_length=1)
    limitations: list[str] = Field(default_factory=list)


class Config(StrictModel):
    task: Task
    data: DataConfig
    features: FeatureConfig
    split: SplitConfig
    logged: LoggedConfig = LoggedConfig()
    model: ModelConfig
    artifact: ArtifactConfig
    gate: GateConfig
    card: CardConfig

    @model_validator(mode="after")
    def classes_follow_the_task(self) -> "Config":
        if self.task == "classification" and self.data.classes is None:
            raise ValueError(
                "data.classes: a classification lists its classes, for example '1': survived; "
                "for a numeric target, write task: regression"
            )
        if self.task == "regression" and self.data.classes is not None:
            raise ValueError(
                "data.classes: a regression predicts a number and has no classes; remove "
                "data.classes, or write task: classification"
            )
        return self

    @model_validator(mode="after")
    def gate_metrics_follow_the_task(self) -> "Config":
        known = [name for name in METRICS[self.task].model_fields if name not in NOT_GATED]
        if unknown := [name for name in self.gate.metrics if name not in known]:
            raise ValueError(
                f"gate.metrics: {unknown} are not gated metrics of a {self.task}; choose from "
                f"{known}"
            )
        return self

    @model_validator(mode="after")
    def target_is_not_an_input(self) -> "Config":
        if self.data.target in INPUT_FIELDS:
            raise ValueError(
                f"data.target {self.data.target!r} is a field of InputRecord: the model would be "
                "given the answer; remove it from input_schema.py"
            )
        return self


class ConfigError(ValueError):
    """config.yml is missing, unreadable or invalid."""


def load_config(path: Path = CONFIG_FILE) -> Config:
    """Parse and validate a config file; errors name the file and every bad key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error}") from error
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc'])) or '(top level)'}: {item['msg']}"
            for item in error.errors()
        )
        raise ConfigError(f"{path}: invalid configuration: {problems}") from error


config = load_config()
