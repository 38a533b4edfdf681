"""Feature engineering as plain functions shared by training and serving.

Nothing here is fitted: the fitted steps (imputer, scaler, encoder, estimator) live in
pipeline.py, so the pipeline holds only standard scikit-learn steps and converts to ONNX. The
functions work on plain records, so serving one passenger costs microseconds, not a DataFrame.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MISSING = "missing"
TITLES = {
    "Mr": "Mr",
    "Mrs": "Mrs",
    "Mme": "Mrs",
    "Miss": "Miss",
    "Mlle": "Miss",
    "Ms": "Miss",
    "Master": "Master",
}
RARE_TITLE = "Rare"
ENGINEERED_FEATURES = ("title", "deck", "family_size")
_TITLE = re.compile(r",\s*([^.]+)\.")

ModelInputs = dict[str, npt.NDArray[Any]]


def title_from_name(name: str) -> str | None:
    """'Allen, Miss. Elisabeth Walton' -> 'Miss'; uncommon titles are grouped as 'Rare'."""
    match = _TITLE.search(name)
    if match is None:
        return None
    return TITLES.get(match.group(1).strip(), RARE_TITLE)


def deck_from_cabin(cabin: str | None) -> str | None:
    """'C85' -> 'C': the deck is the cabin's leading letter."""
    cabin = (cabin or "").strip()
    return cabin[0].upper() if cabin else None


def family_size(sibsp: int, parch: int) -> int:
    """The passenger plus siblings, spouses, parents and children aboard."""
    return sibsp + parch + 1


def add_features(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of one validated record with the engineered features added."""
    return {
        **record,
        "title": title_from_name(record["name"]),
        "deck": deck_from_cabin(record["cabin"]),
        "family_size": family_size(record["sibsp"], record["parch"]),
    }


def model_inputs(
    records: Sequence[Mapping[str, Any]], numeric: list[str], categorical: list[str]
) -> ModelInputs:
    """The pipeline's input columns: numbers as floats (NaN = missing), categories as strings."""
    rows = [add_features(record) for record in records]
    columns: ModelInputs = {}
    for name in numeric:
        values = [np.nan if row[name] is None else row[name] for row in rows]
        columns[name] = np.array(values, dtype=np.float64)
    for name in categorical:
        labels = [MISSING if row[name] is None else str(row[name]) for row in rows]
        columns[name] = np.array(labels, dtype=object)
    return columns
