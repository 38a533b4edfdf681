"""Loading and validating the training data against the input schema and the target config.yml
describes: its classes, or numbers."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd
from pydantic import ValidationError

from .columns import model_inputs, to_columns
from .config import Config, DataConfig, config
from .input_schema import InputRecord
from .results import INPUT_FIELDS, RECORD_LIST
from .strict_record import expected_kind

MAX_REPORTED_PROBLEMS = 5


def _text_fields() -> list[str]:
    """Fields the schema types as text only: read as text, so a code like '02139' stays one."""
    fields = InputRecord.model_fields.items()
    return [name for name, field in fields if expected_kind(field.annotation) == "text"]


class DataValidationError(ValueError):
    """The data file cannot be used for training; the message names the file and the problem."""


def load_dataset(path: Path, data: DataConfig, harvested: bool = False) -> pd.DataFrame:
    """The input fields as the schema validated them, and the target as class names or numbers.

    Training then builds its features from the very values serving would get for the same row.
    Only empty cells and data.missing_values mean "missing": a category called "NA" stays one.
    Every class needs rows, unless the file is `harvested` (logged.py), which adds to the data
    file and holds class names as written: read as text, so a class '01' stays one.
    """
    try:
        frame = pd.read_csv(
            path,
            keep_default_na=False,
            na_values=["", *data.missing_values],
            dtype=dict.fromkeys([*_text_fields(), *([data.target] if harvested else [])], str),
        )
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

    records = _validated(path, frame[list(INPUT_FIELDS)])
    inputs = pd.DataFrame(records, index=frame.index, columns=list(INPUT_FIELDS))
    target = frame[data.target]
    if data.classes:
        values = _class_names(path, target, data, every_class=not harvested)
    else:
        values = _numbers(path, target, data)
    return inputs.assign(**{data.target: values})


def _lines(index: pd.Index) -> str:
    """CSV line numbers of frame rows: the header is line 1."""
    return ", ".join(str(int(row) + 2) for row in index[:MAX_REPORTED_PROBLEMS])


def _validated(path: Path, inputs: pd.DataFrame) -> list[dict[str, Any]]:
    """Every row through the input schema, as serving validates a record; all problems at once."""
    try:
        # Unlike a caller's record, a CSV cell is text: "3" there means the number 3.
        records: list[dict[str, Any]] = RECORD_LIST.dump_python(
            RECORD_LIST.validate_python(to_records(inputs), strict=False)  # read from text
        )
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
    return records


def _class_names(
    path: Path, labels: pd.Series, data: DataConfig, every_class: bool = True
) -> pd.Series:
    """The target's values replaced by the class names of config.yml; unknown values are errors."""
    classes = data.classes or {}
    names = labels.map(_as_text).map(classes)
    unknown = labels[names.isna()]
    if not unknown.empty:
        first = unknown.iloc[0]
        value = "a missing value" if pd.isna(first) else f"the value {str(first)!r}"
        known = ", ".join(repr(value) for value in classes)
        raise DataValidationError(
            f"{path}: target column {data.target!r} has {value} (lines {_lines(unknown.index)}), "
            f"which is not one of data.classes in config.yml ({known})"
        )
    absent = [name for name in data.class_names if name not in set(names)]
    if absent and every_class:
        raise DataValidationError(
            f"{path}: no rows of the classes {absent}; every class in data.classes needs examples"
        )
    return names


def _numbers(path: Path, target: pd.Series, data: DataConfig) -> pd.Series:
    """A regression's target as floats; a missing or non-numeric value is an error."""
    values = pd.to_numeric(target, errors="coerce")
    if (bad := target[~values.abs().lt(float("inf"))]).empty:  # NaN and infinities
        return values.astype(float)
    first = bad.iloc[0]
    value = "a missing value" if pd.isna(first) else f"the value {str(first)!r}"
    raise DataValidationError(
        f"{path}: target column {data.target!r} has {value} (lines {_lines(bad.index)}), and a "
        "regression needs a finite number in every row; drop or fill those rows"
    )


def _as_text(value: Any) -> str | None:
    """A target value as config.yml writes it: 1, 1.0 (a column with gaps) and '1' are all '1'."""
    if pd.isna(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, missing values as None (what the input schema expects)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return cast(list[dict[str, Any]], records)


def sha256_of(path: Path) -> str:
    """Content hash recorded in the model metadata, so a model names the data it was trained on."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class MissingStageInputError(ValueError):
    """A stage's input file is not there: an earlier stage has not run."""


@dataclass(frozen=True)
class Part:
    """One side of the split: records as the input schema validated them, and their targets
    (class names, or numbers)."""

    records: list[dict[str, Any]]
    targets: list[Any]

    def inputs(self, config: Config = config) -> pd.DataFrame:
        """The pipeline's input columns, built as serving builds them."""
        numeric, categorical = config.features.numeric, config.features.categorical
        return pd.DataFrame(model_inputs(to_columns(self.records), numeric, categorical))

    def write(self, path: Path) -> None:
        lines = (
            json.dumps({"record": record, "target": target}, ensure_ascii=False)
            for record, target in zip(self.records, self.targets, strict=True)
        )
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "Part":
        if not path.is_file():
            raise MissingStageInputError(f"{path}: missing; run the prepare stage first")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return cls([row["record"] for row in rows], [row["target"] for row in rows])
