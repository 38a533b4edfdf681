"""Loading and validating the training data."""

import hashlib
from pathlib import Path
from typing import Any, cast

import pandas as pd
from pydantic import ValidationError

from .schemas import INPUT_FIELDS, PASSENGER_LIST

MAX_REPORTED_PROBLEMS = 5


class DataValidationError(ValueError):
    """The data file cannot be used for training; the message names the file and the problem."""


def load_dataset(path: Path, target: str) -> pd.DataFrame:
    """Read a CSV (`?` means missing) and check every row against the input schema and labels."""
    try:
        frame = pd.read_csv(path, na_values=["?"])
    except FileNotFoundError as error:
        raise DataValidationError(f"{path}: no such data file") from error
    except pd.errors.EmptyDataError as error:
        raise DataValidationError(f"{path}: the file is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataValidationError(f"{path}: not a readable CSV file: {error}") from error

    required = [*INPUT_FIELDS, target]
    if missing := [column for column in required if column not in frame.columns]:
        raise DataValidationError(f"{path}: missing columns {missing}")
    if frame.empty:
        raise DataValidationError(f"{path}: the file has a header but no rows")

    frame = frame[required]
    _check_rows(path, frame[list(INPUT_FIELDS)])
    _check_labels(path, frame[target])
    return frame.assign(**{target: frame[target].astype("int64")})


def _check_rows(path: Path, inputs: pd.DataFrame) -> None:
    try:
        PASSENGER_LIST.validate_python(to_records(inputs))
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


def _check_labels(path: Path, labels: pd.Series) -> None:
    numeric = pd.to_numeric(labels, errors="coerce")
    bad = labels[~numeric.isin([0, 1])]
    if not bad.empty:
        lines = ", ".join(str(index + 2) for index in bad.index[:MAX_REPORTED_PROBLEMS])
        raise DataValidationError(
            f"{path}: label column {labels.name!r} must be 0 or 1, found {str(bad.iloc[0])!r} "
            f"(lines {lines})"
        )


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, missing values as None (what the input schema expects)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return cast(list[dict[str, Any]], records)


def sha256_of(path: Path) -> str:
    """Content hash recorded in the model metadata, so a model names the data it was trained on."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
