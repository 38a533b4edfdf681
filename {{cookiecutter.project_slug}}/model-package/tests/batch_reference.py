"""What make_prediction says about every row of a table: the reference every batch engine must
equal, and the hostile rows made from InputRecord's own schema to put in the table."""

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }} import (
    CLASSES,
    EXAMPLE_RECORD,
    TASK,
    InputRecord,
    PredictionResult,
    make_prediction,
)
from {{ cookiecutter.package_name }}.batch.scoring import (
    ERROR,
    LABEL,
    LOWER,
    MODEL_VERSION,
    PREDICTION,
    PROBABILITY_COLUMNS,
    ROW,
    SCORE_TYPES,
    UPPER,
)
from {{ cookiecutter.package_name }}.data import to_records

# The column of the model's answer: the label, or the predicted value.
ANSWER = LABEL if TASK == "classification" else PREDICTION


def answers(result: PredictionResult) -> list[Any]:
    """make_prediction's answers, as the ANSWER column holds them."""
    return result.labels if TASK == "classification" else result.values


def edge_values(spec: dict[str, Any]) -> list[Any]:
    """Values at and beyond one JSON-schema property's limits, of the property's own types."""
    values: list[Any] = [None]
    for option in spec.get("anyOf", [spec]):
        if option.get("type") in ("number", "integer"):
            values += [-math.inf, math.inf]
        for limit, step in (("minimum", -1), ("maximum", 1)):
            if limit in option:
                values += [option[limit], option[limit] + step]
        if "maxLength" in option:
            values += ["x" * option["maxLength"], "x" * (option["maxLength"] + 1)]
        if option.get("type") == "string":
            values += ["", "   ", "ünïcødé ✓"]
        if "enum" in option:
            members = option["enum"]
            text = isinstance(members[0], str)
            values.append("not one of them" if text else max(members) + 1)
    return values


def hostile_rows() -> list[dict[str, Any]]:
    """EXAMPLE_RECORD with one field at a time set to an edge value of its own schema."""
    properties = InputRecord.model_json_schema()["properties"]
    return [
        {**EXAMPLE_RECORD, name: value}
        for name, spec in properties.items()
        for value in edge_values(spec)
    ]


def expected_scores(path: Path) -> pd.DataFrame:
    """make_prediction on the records of a Parquet file, as the batch scorer's columns."""
    result = make_prediction(to_records(pd.read_parquet(path)))
    messages: dict[int, list[str]] = {}
    for error in result.errors:
        text = f"{error.field}: {error.message}" if error.field else error.message
        messages.setdefault(error.index, []).append(text)
    rows = len(answers(result))
    return pd.DataFrame(
        {
            ROW: np.arange(rows),
            **score_columns(result),
            MODEL_VERSION: result.model_version,
            ERROR: ["; ".join(messages.get(row, [])) or None for row in range(rows)],
        }
    )


def score_columns(result: PredictionResult) -> dict[str, Any]:
    """A classifier's label and probability columns, or a regression's value and interval."""
    if TASK == "regression":
        values = [math.nan if value is None else value for value in result.values]
        ends = np.array([row or (math.nan, math.nan) for row in result.intervals], dtype=float)
        return {PREDICTION: np.array(values), LOWER: ends[:, 0], UPPER: ends[:, 1]}
    probabilities = [row or dict.fromkeys(CLASSES, math.nan) for row in result.probabilities]
    return {
        LABEL: result.labels,
        **{
            column: np.array([row[name] for row in probabilities], dtype=np.float32)
            for name, column in zip(CLASSES, PROBABILITY_COLUMNS, strict=True)
        },
    }


def cells(column: pd.Series) -> list[Any]:
    """A column's values, None where missing (pandas may say NaN)."""
    return [None if pd.isna(value) else value for value in column]


def assert_same_scores(output: Path, expected: pd.DataFrame, key: str = ROW) -> None:
    """The batch output, in row order, equals the reference: scores and errors."""
    scored = pd.read_parquet(output).sort_values(key, ignore_index=True)
    assert scored[key].tolist() == expected[ROW].tolist()
    for column in SCORE_TYPES:
        if column == LABEL:
            assert cells(scored[LABEL]) == cells(expected[LABEL])
        else:
            np.testing.assert_array_equal(scored[column].to_numpy(), expected[column].to_numpy())
    assert set(scored[MODEL_VERSION]) == set(expected[MODEL_VERSION])
    assert cells(scored[ERROR]) == cells(expected[ERROR])
