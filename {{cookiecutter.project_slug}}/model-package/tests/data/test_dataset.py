"""The data loader's checks, on edited copies of the packaged data file (any data set)."""

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import InputRecord
from {{ cookiecutter.package_name }}.config import DATASET_DIR, config
from {{ cookiecutter.package_name }}.data import DataValidationError, load_dataset
from {{ cookiecutter.package_name }}.results import INPUT_FIELDS

DATA_FILE = DATASET_DIR / config.data.file
TARGET = config.data.target


def test_dataset_matches_the_schema_and_the_target(dataset: pd.DataFrame) -> None:
    assert list(dataset.columns) == [*INPUT_FIELDS, TARGET]
    if config.task == "classification":
        assert set(dataset[TARGET]) == set(config.data.class_names)
    else:
        assert dataset[TARGET].dtype == float
        assert dataset[TARGET].notna().all()


def edited(tmp_path: Path, edit: str) -> Path:
    """A copy of the real data file with one edit applied."""
    frame = pd.read_csv(DATA_FILE, dtype=str, keep_default_na=False)
    first_field = INPUT_FIELDS[0]
    if edit == "drop a field":
        frame = frame.drop(columns=first_field)
    elif edit == "drop the target":
        frame = frame.drop(columns=TARGET)
    elif edit == "unknown label":
        frame.loc[5, TARGET] = "no such class"
    elif edit == "missing label":
        frame.loc[5, TARGET] = ""
    elif edit == "one class absent":
        first_class = str(next(iter(config.data.classes or {})))
        frame = frame[frame[TARGET] != first_class]
    elif edit == "no rows":
        frame = frame.iloc[:0]
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("drop a field", f"missing columns ['{INPUT_FIELDS[0]}']"),
        ("drop the target", f"missing columns ['{TARGET}']"),
        ("missing label", "has a missing value (lines 7)"),
        ("no rows", "a header but no rows"),
        *(
            [
                ("unknown label", "has the value 'no such class' (lines 7), which is not one of"),
                ("one class absent", "no rows of the classes"),
            ]
            if config.task == "classification"
            else [("unknown label", "has the value 'no such class' (lines 7), and a regression")]
        ),
    ],
)
def test_bad_data_is_a_clear_error(tmp_path: Path, edit: str, message: str) -> None:
    path = edited(tmp_path, edit)
    with pytest.raises(DataValidationError) as error:
        load_dataset(path, config.data)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def numeric_field() -> str:
    """A numeric field of the input record (not a fixed choice): it refuses free text."""
    properties: dict[str, dict[str, Any]] = InputRecord.model_json_schema()["properties"]
    for name, spec in properties.items():
        options = spec.get("anyOf", [spec])
        if any(option.get("type") in ("number", "integer") for option in options) and not any(
            "enum" in option for option in options
        ):
            return name
    pytest.skip("InputRecord has no numeric field")


def test_values_the_schema_refuses_name_line_and_field(tmp_path: Path) -> None:
    frame = pd.read_csv(DATA_FILE, dtype=str, keep_default_na=False)
    frame.insert(0, "not_in_the_schema", "x")  # an extra column is ignored, not an error
    field = numeric_field()
    frame.loc[3, field] = "not a number"
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=rf"invalid values: line 5 {field}: "):
        load_dataset(path, config.data)


def test_empty_or_absent_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataValidationError, match="the file is empty"):
        load_dataset(empty, config.data)
    with pytest.raises(DataValidationError, match="no such data file"):
        load_dataset(tmp_path / "absent.csv", config.data)


def test_malformed_csv(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(DATA_FILE.read_bytes()[:2000] + b'\n1,"unterminated\n')
    with pytest.raises(DataValidationError, match="not a readable CSV file"):
        load_dataset(path, config.data)
