"""Feature engineering: none, the measurements go in as they are."""

from collections.abc import Mapping
from typing import Any

import numpy.typing as npt

ENGINEERED_FEATURES: tuple[str, ...] = ()


def add_features(columns: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    """The columns unchanged: this model has no engineered features."""
    return dict(columns)
