"""The Titanic example's data: its size, its missing values, its known bad edits.

Replacing the example? Delete this file or rewrite it for your own data.
"""

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.config import DATASET_DIR, config
from {{ cookiecutter.package_name }}.data import DataValidationError, load_dataset

DATA_FILE = DATASET_DIR / config.data.file


def test_all_passengers_are_there(dataset: pd.DataFrame) -> None:
    assert len(dataset) == 1309
    assert (dataset["survived"] == "survived").sum() == 500


def test_question_marks_are_missing_values(dataset: pd.DataFrame) -> None:
    assert dataset["age"].isna().sum() == 263
    assert dataset["cabin"].isna().sum() == 1014


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("age", "old", "line 5 age: Input should be a valid number"),
        ("pclass", "4", "line 5 pclass: Input should be 1, 2 or 3"),
        ("survived", "2", "target column 'survived' has the value '2' (lines 5)"),
    ],
)
def test_bad_passenger_values(tmp_path: Path, column: str, value: str, message: str) -> None:
    frame = pd.read_csv(DATA_FILE, dtype=str, keep_default_na=False)
    frame.loc[3, column] = value
    path = tmp_path / "titanic.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as error:
        load_dataset(path, config.data)
    assert message in str(error.value)
