"""Loading and validating the training data against the input schema and the configured classes."""

import hashlib
from pathlib import Path
from typing import Any, cast

import pandas as pd
from pydantic import ValidationError

from .config import DataConfig
from .schemas import INPUT_FIELDS, RECORD_LIST

MAX_REPORTED_PROBLEMS = 5


class DataValidationError(ValueError):
    """The data file cannot be used for training; the message names the file and the problem."""


def load_dataset(path: Path, data: DataConfig) -> pd.DataFrame:
    """The input fields and the target, every row checked; the target holds class names."""
    try:
        frame = pd.read_csv(path, na_values=data.missing_values)
    except FileNotFoundError as error:
        raise DataValidationError(f"{path}: no such data file") from error
    except pd.errors.EmptyDataError as error:
        raise DataValidationError(f"{path}: the file is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataValidationError(f"{path}: not a readable CSV file: {error}") from error

    required = [*INPUT_FIELDS, data.target]
    if missing := [column for column in required if column not in frame.columns]:
        raise DataValidationError(f"{path}: missing columns {missing}")
    if frame.empty:
        raise DataValidationError(f"{path}: the file has a header but no rows")

    frame = frame[required]
    _check_rows(path, frame[list(INPUT_FIELDS)])
    return frame.assign(**{data.target: _class_names(path, frame[data.target], data)})


def _lines(index: pd.Index) -> str:
    """CSV line numbers of frame rows: the header is line 1."""
    return ", ".join(str(int(row) + 2) for row in index[:MAX_REPORTED_PROBLEMS])


def _check_rows(path: Path, inputs: pd.DataFrame) -> None:
    try:
        RECORD_LIST.validate_python(to_records(inputs))
    except ValidationError as error:
        problems = [
            f"line {int(item['loc'][0]) + 2} {'.'.join(map(str, item['loc'][1:]))}: {item['msg']}"
            for item in error.errors()
        ]
        shown = "; ".join(problems[:MAX_REPORTED_PROBLEMS])
        more = len(problems) - MAX_REPORTED_PROBLEMS
        if more > 0:
            shown += f"; and {more} more"
        raise DataValidationError(f"{path}: {len(problems)} invalid values: {shown}") from error


def _class_names(path: Path, labels: pd.Series, data: DataConfig) -> pd.Series:
    """The target's values replaced by the class names of config.yml; unknown values are errors."""
    names = labels.map(data.classes)
    # A column that pandas read as text ('1' next to a stray word) still matches the class 1.
    by_text = {str(value): name for value, name in data.classes.items()}
    names = names.fillna(labels.astype(str).map(by_text))
    unknown = labels[names.isna()]
    if not unknown.empty:
        first = unknown.iloc[0]
        value = "a missing value" if pd.isna(first) else f"the value {str(first)!r}"
        known = ", ".join(repr(value) for value in data.classes)
        raise DataValidationError(
            f"{path}: target column {data.target!r} has {value} (lines {_lines(unknown.index)}), "
            f"which is not one of data.classes in config.yml ({known})"
        )
    if absent := [name for name in data.class_names if name not in set(names)]:
        raise DataValidationError(
            f"{path}: no rows of the classes {absent}; every class in data.classes needs examples"
        )
    return names


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, missing values as None (what the input schema expects)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return cast(list[dict[str, Any]], records)


def sha256_of(path: Path) -> str:
    """Content hash recorded in the model metadata, so a model names the data it was trained on."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
