from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.config import DATASET_DIR, config
from {{ cookiecutter.package_name }}.data import DataValidationError, load_dataset
from {{ cookiecutter.package_name }}.schemas import INPUT_FIELDS

DATA_FILE = DATASET_DIR / config.data.file


def test_dataset_matches_the_schema(dataset: pd.DataFrame) -> None:
    assert len(dataset) == 1309
    assert list(dataset.columns) == [*INPUT_FIELDS, config.data.target]


def test_labels_are_binary_and_both_present(dataset: pd.DataFrame) -> None:
    labels = dataset[config.data.target]
    assert set(labels.unique()) == {0, 1}
    assert 0.3 < labels.mean() < 0.45  # 500 of 1309 passengers survived


def test_question_marks_are_missing_values(dataset: pd.DataFrame) -> None:
    assert dataset["age"].isna().sum() == 263
    assert dataset["cabin"].isna().sum() == 1014


def corrupt(tmp_path: Path, edit: str) -> Path:
    """A copy of the real data file with one edit applied."""
    frame = pd.read_csv(DATA_FILE, dtype=str, keep_default_na=False)
    if edit == "drop age":
        frame = frame.drop(columns="age")
    elif edit == "age not a number":
        frame.loc[3, "age"] = "old"
    elif edit == "bad class":
        frame.loc[0, "pclass"] = "4"
    elif edit == "bad label":
        frame.loc[5, "survived"] = "2"
    elif edit == "no rows":
        frame = frame.iloc[:0]
    path = tmp_path / "titanic.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("drop age", "missing columns ['age']"),
        ("age not a number", "line 5 age: Input should be a valid number"),
        ("bad class", "line 2 pclass: Input should be 1, 2 or 3"),
        ("bad label", "label column 'survived' must be 0 or 1, found '2' (lines 7)"),
        ("no rows", "a header but no rows"),
    ],
)
def test_bad_data_is_a_clear_error(tmp_path: Path, edit: str, message: str) -> None:
    path = corrupt(tmp_path, edit)
    with pytest.raises(DataValidationError) as error:
        load_dataset(path, config.data.target)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_empty_or_absent_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataValidationError, match="the file is empty"):
        load_dataset(empty, config.data.target)
    with pytest.raises(DataValidationError, match="no such data file"):
        load_dataset(tmp_path / "absent.csv", config.data.target)


def test_malformed_csv(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(DATA_FILE.read_bytes()[:2000] + b'\n1,"unterminated\n')
    with pytest.raises(DataValidationError, match="not a readable CSV file"):
        load_dataset(path, config.data.target)
