"""features.py against its own declaration, for any model."""

from typing import Any

import pytest

from {{ cookiecutter.package_name }} import InputRecord
from {{ cookiecutter.package_name }}.columns import FeatureError, model_inputs, to_columns
from {{ cookiecutter.package_name }}.features import ENGINEERED_FEATURES, add_features
from {{ cookiecutter.package_name }}.results import INPUT_FIELDS


def test_add_features_adds_exactly_the_engineered_features(example: dict[str, Any]) -> None:
    record = InputRecord.model_validate(example).model_dump()
    columns = to_columns([record, record, record])
    added = add_features(columns)
    assert sorted(set(added) - set(INPUT_FIELDS)) == sorted(ENGINEERED_FEATURES)
    assert all(added[name] is columns[name] for name in INPUT_FIELDS)
    assert all(len(added[name]) == 3 for name in ENGINEERED_FEATURES)


def test_add_features_takes_no_records(example: dict[str, Any]) -> None:
    """Serving a batch whose records are all invalid scores nothing: empty columns in, empty out."""
    added = add_features(to_columns([]))
    assert all(len(added[name]) == 0 for name in ENGINEERED_FEATURES)


def test_an_unknown_feature_is_named(example: dict[str, Any]) -> None:
    record = InputRecord.model_validate(example).model_dump()
    with pytest.raises(FeatureError, match="feature 'no_such_feature' is neither a field"):
        model_inputs(to_columns([record]), ["no_such_feature"], [])


def test_text_listed_as_numeric_is_named(example: dict[str, Any]) -> None:
    record = InputRecord.model_validate(example).model_dump()
    texts = [name for name in INPUT_FIELDS if isinstance(record[name], str)]
    if not texts:
        pytest.skip("InputRecord has no text field")
    text = texts[0]
    with pytest.raises(FeatureError, match=f"numeric feature '{text}' has a value that is not"):
        model_inputs(to_columns([record]), [text], [])
