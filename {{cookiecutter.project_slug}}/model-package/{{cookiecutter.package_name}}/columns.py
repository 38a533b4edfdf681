"""Records as columns, and the model's input columns made from them: training, serving and batch
scoring all build their inputs here, from the same add_features (features.py)."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .features import add_features
from .results import INPUT_FIELDS

MISSING = "missing"  # what a missing category becomes, in training and serving alike
# Validated input fields as columns: numpy object arrays of the values, None where missing.
Columns = dict[str, npt.NDArray[Any]]
ModelInputs = dict[str, npt.NDArray[Any]]
_NONE = np.array(None, dtype=object)


class FeatureError(ValueError):
    """config.yml names a feature that add_features does not provide, or of the wrong kind."""


def to_columns(records: Sequence[Mapping[str, Any]]) -> Columns:
    """Validated records (dicts of the input fields) as the columns add_features takes."""
    columns: Columns = {}
    for name in INPUT_FIELDS:
        column = np.empty(len(records), dtype=object)
        column[:] = [record[name] for record in records]
        columns[name] = column
    return columns


def is_missing(column: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Where a column of values has None."""
    missing: npt.NDArray[np.bool_] = np.equal(column, _NONE)
    return missing


def model_inputs(
    columns: Mapping[str, npt.NDArray[Any]], numeric: Sequence[str], categorical: Sequence[str]
) -> ModelInputs:
    """The pipeline's input columns: numbers as floats (NaN = missing), categories as strings."""
    features = add_features(columns)
    inputs: ModelInputs = {}
    try:
        for name in numeric:
            inputs[name] = np.asarray(features[name]).astype(np.float64)  # None becomes NaN
        for name in categorical:
            values = np.where(is_missing(features[name]), MISSING, features[name])
            # ONNX takes text as str objects; anything else (a class number, say) becomes text.
            inputs[name] = values if set(map(type, values)) <= {str} else values.astype(str)
    except KeyError as error:
        raise FeatureError(
            f"feature {error.args[0]!r} is neither a field of InputRecord nor added by "
            "add_features (features.py); fix config.yml or ENGINEERED_FEATURES"
        ) from error
    except (TypeError, ValueError) as error:
        raise FeatureError(
            f"numeric feature {name!r} has a value that is not a number ({error}); "
            "list it under features.categorical in config.yml"
        ) from error
    return inputs
