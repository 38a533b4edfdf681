"""Feature engineering: none, the measurements go in as they are."""

from collections.abc import Mapping
from typing import Any

ENGINEERED_FEATURES: tuple[str, ...] = ()


def add_features(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record unchanged: this model has no engineered features."""
    return dict(record)
