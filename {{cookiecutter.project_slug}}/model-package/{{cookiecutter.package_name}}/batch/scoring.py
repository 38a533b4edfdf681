"""score_frame: one piece of a table in, its scores out; every engine scores with it."""

import re
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from pydantic import ConfigDict, TypeAdapter, ValidationError

from .._version import __version__
from ..columns import Columns, to_columns
from ..config import config
from ..input_schema import InputRecord
from ..predict import CLASSES, TASK, class_scores, validate_records, value_scores
from ..results import INPUT_FIELDS, RecordError
from ..strict_record import InputRecordBase, NoSurprises, expected_kind
from . import BatchInputError

ROW = "row"  # the output's key when the input has none: the input's row number, from 0
LABEL = "label"  # a classifier's columns: the label, then each class's probability
PREDICTION, LOWER, UPPER = "prediction", "lower", "upper"  # a regression's: value and interval
MODEL_VERSION = "model_version"
ERROR = "error"
REQUIRED_FIELDS = tuple(
    name for name, field in InputRecord.model_fields.items() if field.is_required()
)
# Cells of a text file (CSV) that mean "missing", as in training: empty ones and config.yml's.
MISSING_TEXT = ("", *config.data.missing_values)


def probability_column(name: str) -> str:
    """'did not survive' -> 'probability_did_not_survive': a column name every engine accepts."""
    return "probability_" + re.sub(r"\W+", "_", name).strip("_")


PROBABILITY_COLUMNS = tuple(probability_column(name) for name in CLASSES)
SCORE_TYPES: dict[str, pa.DataType] = (
    {LABEL: pa.string(), **dict.fromkeys(PROBABILITY_COLUMNS, pa.float32())}
    if TASK == "classification"
    else dict.fromkeys((PREDICTION, LOWER, UPPER), pa.float64())
)


def scores(columns: Columns) -> list[npt.NDArray[Any]]:
    """The score columns of valid records' columns, in SCORE_TYPES' order."""
    if TASK == "classification":
        labels, probabilities = class_scores(columns)
        return [np.asarray(labels, dtype=object), *probabilities.T]
    values, half_width = value_scores(columns)
    return [values, values - half_width, values + half_width]


def output_schema(key: str | None = None, key_type: pa.DataType | None = None) -> pa.Schema:
    """The columns every engine writes: the key (or row number), the scores and any error."""
    if len(set(PROBABILITY_COLUMNS)) < len(CLASSES):
        raise BatchInputError(
            f"the class names {list(CLASSES)} give the same column names "
            f"{list(PROBABILITY_COLUMNS)}; rename the classes in config.yml"
        )
    return pa.schema(
        [
            (key or ROW, key_type or pa.int64()),
            *SCORE_TYPES.items(),
            (MODEL_VERSION, pa.string()),
            (ERROR, pa.string()),
        ]
    )


def check_columns(columns: Sequence[str], source: str, key: str | None) -> list[str]:
    """The input columns score_frame reads; fails before any work when one it needs is missing."""
    wanted = [*REQUIRED_FIELDS, *([key] if key else [])]
    if missing := [name for name in wanted if name not in columns]:
        raise BatchInputError(
            f"{source}: missing required columns {missing} (it has {list(columns)}); "
            "the input record's fields are in input_schema.py"
        )
    if key and key in output_schema().names[1:]:
        raise BatchInputError(f"--key {key!r} is the name of an output column; rename it")
    wanted = [*(name for name in INPUT_FIELDS if name in columns), *([key] if key else [])]
    return list(dict.fromkeys(wanted))  # a key that is also an input field is read once


def _own_validators() -> bool:
    """Whether InputRecord adds validators or serializers the column checks would not run."""
    mine, base = InputRecord.__pydantic_decorators__, InputRecordBase.__pydantic_decorators__
    groups = (
        *("validators", "field_validators", "root_validators", "model_validators"),
        *("field_serializers", "model_serializers", "computed_fields"),
    )
    return any(set(getattr(mine, group)) - set(getattr(base, group)) for group in groups)


# A record class with validators of its own is validated record by record: slower, never wrong.
RECORD_BY_RECORD = _own_validators()


# InputRecord's settings that bear on a field's values (str_strip_whitespace, strict, ...).
FIELD_CONFIG = ConfigDict(
    **{  # type: ignore[typeddict-item]
        setting: value
        for setting, value in InputRecord.model_config.items()
        if setting not in ("extra", "json_schema_extra", "title", "frozen")
    }
)


@cache
def _column_adapter(name: str) -> TypeAdapter[list[Any]]:
    """Validates a whole column against one field, as a record checks it: its type and
    constraints, in pydantic-core."""
    field = InputRecord.model_fields[name]
    column = list[Annotated[field.annotation, field, NoSurprises()]]  # type: ignore[name-defined]
    return TypeAdapter(column, config=FIELD_CONFIG)


def _raw_column(frame: pd.DataFrame, name: str, from_text: bool) -> npt.NDArray[Any]:
    """A column's values as Python objects, None where missing; text parsed where numbers belong."""
    field = InputRecord.model_fields[name]
    if name not in frame:  # an optional field: its default, as a record without it gets
        values = np.empty(len(frame), dtype=object)
        values[:] = [field.get_default(call_default_factory=True)] * len(frame)
        return values
    series = frame[name]
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=object, copy=True)
    if from_text:
        missing = missing | series.isin(MISSING_TEXT).to_numpy()
    values[missing] = None
    if from_text and expected_kind(field.annotation) == "number":
        parsed = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=object)
        # What does not parse stays text, for the record check to name.
        values = np.where(pd.isna(parsed), values, parsed)
    return values


def _validated_columns(
    frame: pd.DataFrame, from_text: bool
) -> tuple[Columns, npt.NDArray[np.bool_], dict[str, npt.NDArray[Any]]]:
    """(clean columns of the rows that pass, where rows were flagged, the raw columns)."""
    raw = {name: _raw_column(frame, name, from_text) for name in INPUT_FIELDS}
    if RECORD_BY_RECORD:
        return {}, np.ones(len(frame), dtype=bool), raw
    strict = False if from_text else None  # None: the record's own rule (strict_record.py)
    flagged = np.zeros(len(frame), dtype=bool)
    clean: dict[str, list[Any] | None] = {}
    for name, values in raw.items():
        try:
            clean[name] = _column_adapter(name).validate_python(values.tolist(), strict=strict)
        except ValidationError as error:
            clean[name] = None
            flagged[sorted({int(item["loc"][0]) for item in error.errors()})] = True
    passed = np.flatnonzero(~flagged)
    columns: Columns = {}
    for name, checked in clean.items():
        if checked is None:  # the column had errors: validate it again without the flagged rows
            checked = _column_adapter(name).validate_python(
                raw[name][passed].tolist(), strict=strict
            )
        elif len(passed) < len(frame):
            checked = [checked[row] for row in passed.tolist()]
        columns[name] = np.empty(len(passed), dtype=object)
        columns[name][:] = checked
    return columns, flagged, raw


def score_frame(
    frame: pd.DataFrame, from_text: bool, key: str | None = None, first_row: int = 0
) -> pd.DataFrame:
    """Scores of a piece of a table, one output row per input row (output_schema's columns).

    from_text: the frame was read from text (CSV), every cell a string, as training reads it.
    key: the input column to copy to the output; without one, the rows are numbered from
    first_row, the position of the frame's first row in the whole input.
    """
    n = len(frame)
    outputs = {
        name: np.full(n, None, dtype=object)
        if pa.types.is_string(kind)
        else np.full(n, np.nan, dtype=kind.to_pandas_dtype())
        for name, kind in SCORE_TYPES.items()
    }

    def fill(rows: npt.NDArray[np.intp], columns: Columns) -> None:
        for output, values in zip(outputs.values(), scores(columns), strict=True):
            output[rows] = values

    errors = np.full(n, None, dtype=object)
    columns, flagged, raw = _validated_columns(frame, from_text)
    passed = np.flatnonzero(~flagged)
    if len(passed):
        fill(passed, columns)
    if flagged.any():  # make_prediction's own validation decides these rows, and names errors
        rows = np.flatnonzero(flagged)
        given = [name for name in INPUT_FIELDS if name in frame]
        records = [{name: raw[name][row] for name in given} for row in rows.tolist()]
        valid, clean, record_errors = validate_records(records, from_text)
        if valid:
            fill(rows[valid], to_columns(clean))
        errors[rows] = _error_texts(len(rows), record_errors)
    keys = frame[key].reset_index(drop=True) if key else np.arange(first_row, first_row + n)
    return pd.DataFrame(
        {
            key or ROW: keys,
            **outputs,
            MODEL_VERSION: pd.Series(np.full(n, __version__, dtype=object), dtype=object),
            ERROR: pd.Series(errors, dtype=object),
        }
    )


def _error_texts(count: int, errors: list[RecordError]) -> list[str | None]:
    """Each record's errors as one text: 'age: Input should be ...; fare: ...'."""
    texts: list[list[str]] = [[] for _ in range(count)]
    for error in errors:
        text = f"{error.field}: {error.message}" if error.field else error.message
        texts[error.index].append(text)
    return ["; ".join(parts) or None for parts in texts]
