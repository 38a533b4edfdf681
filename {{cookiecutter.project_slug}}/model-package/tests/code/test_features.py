import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.config import LEAKY_COLUMNS, config
from {{ cookiecutter.package_name }}.features import (
    MISSING,
    deck_from_cabin,
    family_size,
    model_inputs,
    title_from_name,
)


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("Allen, Miss. Elisabeth Walton", "Miss"),
        ("Andersson, Mr. Anders Johan", "Mr"),
        ("Aubart, Mme. Leontine Pauline", "Mrs"),
        ("Reuchlin, Jonkheer. John George", "Rare"),
        ("Rothes, the Countess. of (Lucy Noel Martha Dyer-Edwards)", "Rare"),
        ("Cher", None),
    ],
)
def test_title_from_name(name: str, title: str | None) -> None:
    assert title_from_name(name) == title


@pytest.mark.parametrize(
    ("cabin", "deck"), [("C85", "C"), (" b57 B59", "B"), ("", None), (None, None)]
)
def test_deck_from_cabin(cabin: str | None, deck: str | None) -> None:
    assert deck_from_cabin(cabin) == deck


def test_family_size_counts_the_passenger() -> None:
    assert family_size(0, 0) == 1
    assert family_size(1, 2) == 4


def test_model_inputs_types_and_missing_values(passenger: dict[str, object]) -> None:
    blank = {**passenger, "age": None, "cabin": None, "embarked": None}
    columns = model_inputs([passenger, blank], config.features.numeric, config.features.categorical)
    assert list(columns) == config.features.all
    assert all(columns[name].dtype == np.float64 for name in config.features.numeric)
    assert all(columns[name].dtype == object for name in config.features.categorical)
    assert math.isnan(columns["age"][1])
    assert columns["deck"].tolist() == ["B", MISSING]
    assert columns["embarked"].tolist() == ["S", MISSING]
    assert columns["pclass"].tolist() == ["1", "1"]
    assert columns["family_size"].tolist() == [1.0, 1.0]


def test_leaky_columns_are_never_features() -> None:
    assert not LEAKY_COLUMNS.intersection(config.features.all)
