"""Training configuration: config.yml, validated by strict pydantic models."""

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .features import ENGINEERED_FEATURES
from .schemas import INPUT_FIELDS

PACKAGE_ROOT = Path(__file__).resolve().parent
CONFIG_FILE = PACKAGE_ROOT / "config.yml"
DATASET_DIR = PACKAGE_ROOT / "datasets"
TRAINED_MODEL_DIR = PACKAGE_ROOT / "trained_models"

# Recorded after the sinking (lifeboat, body number) or free text: never model inputs.
LEAKY_COLUMNS = frozenset({"boat", "body", "home.dest"})

ColumnList = Annotated[list[str], Field(min_length=1)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(StrictModel):
    file: str = Field(min_length=1)
    target: str = Field(min_length=1)


class FeatureConfig(StrictModel):
    numeric: ColumnList
    categorical: ColumnList

    @model_validator(mode="after")
    def check_columns(self) -> "FeatureConfig":
        columns = self.numeric + self.categorical
        if leaky := LEAKY_COLUMNS.intersection(columns):
            raise ValueError(f"{sorted(leaky)} leak the target or carry no signal; remove them")
        known = set(INPUT_FIELDS) | set(ENGINEERED_FEATURES)
        if unknown := [column for column in columns if column not in known]:
            raise ValueError(f"unknown features {unknown}; choose from {sorted(known)}")
        if duplicated := sorted({column for column in columns if columns.count(column) > 1}):
            raise ValueError(f"features listed more than once: {duplicated}")
        return self

    @property
    def all(self) -> list[str]:
        return self.numeric + self.categorical


class SplitConfig(StrictModel):
    test_size: float = Field(gt=0, lt=1)
    random_state: int


class ModelConfig(StrictModel):
    C: float = Field(gt=0, description="Inverse regularisation strength.")
    max_iter: int = Field(gt=0)


class ArtifactConfig(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")


class Config(StrictModel):
    data: DataConfig
    features: FeatureConfig
    split: SplitConfig
    model: ModelConfig
    artifact: ArtifactConfig


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
