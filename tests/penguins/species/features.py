"""Feature engineering: plain functions of the validated input columns."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

Column = npt.NDArray[Any]

# The names add_features adds; config.yml may list them as features next to the record's fields.
ENGINEERED_FEATURES = ("bill_ratio",)


def bill_ratio(length: Column, depth: Column) -> Column:
    """Bill length over depth: long, shallow bills (Gentoo) against short, deep ones (Adélie)."""
    pairs = zip(length, depth, strict=True)
    ratios = (long / deep if long is not None and deep else None for long, deep in pairs)
    return np.fromiter(ratios, dtype=object, count=len(length))


def add_features(columns: Mapping[str, Column]) -> dict[str, Column]:
    """The input columns with every name in ENGINEERED_FEATURES added, one value per record."""
    ratio = bill_ratio(columns["bill_length_mm"], columns["bill_depth_mm"])
    return {**columns, "bill_ratio": ratio}
