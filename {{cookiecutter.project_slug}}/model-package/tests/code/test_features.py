import math

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.config import LEAKY_COLUMNS, config
from {{ cookiecutter.package_name }}.features import (
    MISSING,
    deck_from_cabin,
    family_size,
    title_from_name,
    to_model_frame,
)


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("Allen, Miss. Elisabeth Walton", "Miss"),
        ("Andersson, Mr. Anders Johan", "Mr"),
        ("Aubart, Mme. Leontine Pauline", "Mrs"),
        ("Reuchlin, Jonkheer. John George", "Rare"),
        ("Rothes, the Countess. of (Lucy Noel Martha Dyer-Edwards)", "Rare"),
    ],
)
def test_title_from_name(name: str, title: str) -> None:
    assert title_from_name(pd.Series([name])).iloc[0] == title


def test_name_without_title_is_missing() -> None:
    assert pd.isna(title_from_name(pd.Series(["Cher"])).iloc[0])


def test_deck_from_cabin() -> None:
    decks = deck_from_cabin(pd.Series(["C85", " b57 B59", None]))
    assert decks.iloc[:2].tolist() == ["C", "B"]
    assert pd.isna(decks.iloc[2])


def test_family_size_counts_the_passenger() -> None:
    assert family_size(pd.Series([0, 1]), pd.Series([0, 2])).tolist() == [1, 4]


def test_model_frame_types_and_missing_values(passenger: dict[str, object]) -> None:
    raw = pd.DataFrame([passenger, {**passenger, "age": None, "cabin": None, "embarked": None}])
    frame = to_model_frame(raw, config.features.numeric, config.features.categorical)
    assert list(frame.columns) == config.features.all
    assert all(frame[column].dtype == "float64" for column in config.features.numeric)
    assert math.isnan(frame["age"].iloc[1])
    assert frame.loc[1, "deck"] == MISSING
    assert frame.loc[1, "embarked"] == MISSING
    assert frame.loc[0, "pclass"] == "1"


def test_leaky_columns_are_never_features() -> None:
    assert not LEAKY_COLUMNS.intersection(config.features.all)
