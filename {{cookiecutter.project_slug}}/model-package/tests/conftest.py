from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from batch_reference import hostile_rows

from {{ cookiecutter.package_name }} import EXAMPLE_RECORD
from {{ cookiecutter.package_name }}.config import DATASET_DIR, config
from {{ cookiecutter.package_name }}.data import Part, load_dataset
from {{ cookiecutter.package_name }}.stages import prepare

# Lines for the end of the run, such as the ONNX parity figures of tests/model/test_estimators.py.
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REPORT:
        terminalreporter.write_sep("=", "model report")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def report() -> list[str]:
    """Append a line to print it at the end of the run."""
    return REPORT


@pytest.fixture(scope="session")
def dataset() -> pd.DataFrame:
    return load_dataset(DATASET_DIR / config.data.file, config.data)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepare stage's output, in a folder of the test run's own."""
    folder = tmp_path_factory.mktemp("prepared")
    prepare(out_dir=folder)
    return folder


@pytest.fixture(scope="session")
def holdout(prepared: Path) -> Part:
    return Part.read(prepared / "holdout.jsonl")


@pytest.fixture
def example() -> dict[str, Any]:
    return dict(EXAMPLE_RECORD)


@pytest.fixture(scope="session")
def table(holdout: Part, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the batch tests score: the holdout and hostile rows, as Parquet (typed columns)."""
    frame = pd.DataFrame([*holdout.records, *hostile_rows()])
    path = tmp_path_factory.mktemp("table") / "table.parquet"
    frame.to_parquet(path, index=False)
    return path
