"""Feature engineering: plain functions of one validated record."""

from collections.abc import Mapping
from typing import Any

# The names add_features adds; config.yml may list them as features next to the record's fields.
ENGINEERED_FEATURES = ("bill_ratio",)


def bill_ratio(length: float | None, depth: float | None) -> float | None:
    """Bill length over depth: long, shallow bills (Gentoo) against short, deep ones (Adélie)."""
    if length is None or not depth:
        return None
    return length / depth


def add_features(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of one validated record with every name in ENGINEERED_FEATURES added."""
    return {**record, "bill_ratio": bill_ratio(record["bill_length_mm"], record["bill_depth_mm"])}
