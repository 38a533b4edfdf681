"""features.py against its own declaration, for any model."""

from typing import Any

import pytest

from {{ cookiecutter.package_name }} import InputRecord
from {{ cookiecutter.package_name }}.features import ENGINEERED_FEATURES, add_features
from {{ cookiecutter.package_name }}.predict import FeatureError, model_inputs
from {{ cookiecutter.package_name }}.schemas import INPUT_FIELDS


def test_add_features_adds_exactly_the_engineered_features(example: dict[str, Any]) -> None:
    record = InputRecord.model_validate(example).model_dump()
    added = add_features(record)
    assert sorted(set(added) - set(INPUT_FIELDS)) == sorted(ENGINEERED_FEATURES)
    assert {name: added[name] for name in INPUT_FIELDS} == record


def test_an_unknown_feature_is_named(example: dict[str, Any]) -> None:
    record = InputRecord.model_validate(example).model_dump()
    with pytest.raises(FeatureError, match="feature 'no_such_feature' is neither a field"):
        model_inputs([record], ["no_such_feature"], [])


def test_text_listed_as_numeric_is_named(example: dict[str, Any]) -> None:
    record = {**InputRecord.model_validate(example).model_dump(), "text": "abc"}
    with pytest.raises(FeatureError, match="numeric feature 'text' has a value that is not"):
        model_inputs([record], ["text"], [])
