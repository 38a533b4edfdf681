from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.config import DATASET_DIR, config
from {{ cookiecutter.package_name }}.data import load_dataset
from {{ cookiecutter.package_name }}.schemas import EXAMPLE_PASSENGER
from {{ cookiecutter.package_name }}.train_pipeline import Split, split_dataset


@pytest.fixture(scope="session")
def dataset() -> pd.DataFrame:
    return load_dataset(DATASET_DIR / config.data.file, config.data.target)


@pytest.fixture(scope="session")
def split(dataset: pd.DataFrame) -> Split:
    return split_dataset(dataset, config)


@pytest.fixture
def passenger() -> dict[str, Any]:
    return dict(EXAMPLE_PASSENGER)
