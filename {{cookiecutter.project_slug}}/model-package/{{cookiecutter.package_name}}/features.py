"""Feature engineering: plain functions of one validated record. Yours to rewrite with the example.

Training, serving and every other consumer call `add_features` on each record, so a feature is
computed by exactly one piece of code. Nothing here is fitted: imputing, scaling, encoding and the
estimator live in pipeline.py, as standard scikit-learn steps that convert to ONNX. A model that
needs no engineered features sets `ENGINEERED_FEATURES = ()` and returns the record unchanged.
"""

import re
from collections.abc import Mapping
from typing import Any

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
    """A copy of one validated record with every name in ENGINEERED_FEATURES added."""
    return {
        **record,
        "title": title_from_name(record["name"]),
        "deck": deck_from_cabin(record["cabin"]),
        "family_size": family_size(record["sibsp"], record["parch"]),
    }
