"""The Titanic example's engineered features (features.py).

Replacing the example? Delete this file or rewrite it for your own features.
"""

import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.columns import MISSING, model_inputs, to_columns
from {{ cookiecutter.package_name }}.config import config
from {{ cookiecutter.package_name }}.features import decks, family_size, titles


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
def test_titles(name: str, title: str | None) -> None:
    assert titles(np.array([name], dtype=object)).tolist() == [title]


@pytest.mark.parametrize(
    ("cabin", "deck"), [("C85", "C"), (" b57 B59", "B"), ("", None), ("  ", None), (None, None)]
)
def test_decks(cabin: str | None, deck: str | None) -> None:
    assert decks(np.array([cabin], dtype=object)).tolist() == [deck]


def test_family_size_counts_the_passenger() -> None:
    assert family_size(np.array([0, 1]), np.array([0, 2])).tolist() == [1, 4]


def test_model_inputs_types_and_missing_values(example: dict[str, object]) -> None:
    blank = {**example, "age": None, "cabin": None, "embarked": None}
    numeric, categorical = ["age", "family_size"], ["pclass", "deck", "embarked"]
    columns = model_inputs(to_columns([example, blank]), numeric, categorical)
    assert list(columns) == numeric + categorical
    assert all(columns[name].dtype == np.float64 for name in numeric)
    assert all(isinstance(value, str) for name in categorical for value in columns[name])
    assert math.isnan(columns["age"][1])
    assert columns["deck"].tolist() == ["B", MISSING]
    assert columns["embarked"].tolist() == ["S", MISSING]
    assert columns["pclass"].tolist() == ["1", "1"]
    assert columns["family_size"].tolist() == [1.0, 1.0]


def test_leaky_columns_are_never_features() -> None:
    assert not {"boat", "body", "home.dest"}.intersection(config.features.all)
