"""Feature engineering: plain functions of the validated input columns. Yours to rewrite.

Training, serving and batch scoring all call `add_features`, so a feature is computed by exactly one
piece of code. It works on columns, not records, because that is what makes a million rows fast:
each input field is a numpy array of the validated values, one per record, of dtype object, with
None where a value is missing. Use numpy's whole-column arithmetic where it fits, and a generator
over the column where it does not: one pass, no function call per value.

Nothing here is fitted: imputing, scaling, encoding and the estimator live in estimators.py, as
standard scikit-learn steps that convert to ONNX. A model that needs no engineered features sets
`ENGINEERED_FEATURES = ()` and returns the columns unchanged.
"""

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

Column = npt.NDArray[Any]

# The names add_features adds; config.yml may list them as features next to the record's fields.
ENGINEERED_FEATURES = ("title", "deck", "family_size")

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
_TITLE = re.compile(r",\s*([^.]+)\.")


def titles(names: Column) -> Column:
    """'Allen, Miss. Elisabeth Walton' -> 'Miss'; uncommon titles are grouped as 'Rare'."""
    found = map(_TITLE.search, names)
    values = (TITLES.get(match.group(1).strip(), RARE_TITLE) if match else None for match in found)
    return np.fromiter(values, dtype=object, count=len(names))


def decks(cabins: Column) -> Column:
    """'C85' -> 'C': the deck is the cabin's leading letter."""
    values = ((cabin.strip()[:1].upper() or None) if cabin else None for cabin in cabins)
    return np.fromiter(values, dtype=object, count=len(cabins))


def family_size(sibsp: Column, parch: Column) -> Column:
    """The passenger plus siblings, spouses, parents and children aboard."""
    return sibsp + parch + 1


def add_features(columns: Mapping[str, Column]) -> dict[str, Column]:
    """The input columns with every name in ENGINEERED_FEATURES added, one value per record."""
    return {
        **columns,
        "title": titles(columns["name"]),
        "deck": decks(columns["cabin"]),
        "family_size": family_size(columns["sibsp"], columns["parch"]),
    }
