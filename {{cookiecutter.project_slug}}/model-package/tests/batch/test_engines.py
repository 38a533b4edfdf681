"""The batch scorer on Dask (a LocalCluster of 2 workers) and Spark (local[2]), against
make_prediction. `tox -e test_engines` installs both and makes their absence a failure."""

import importlib
import os
from pathlib import Path

import pandas as pd
import pytest
from batch_reference import assert_same_scores, expected_scores

from {{ cookiecutter.package_name }} import InputRecord
from {{ cookiecutter.package_name }}.batch import BatchInputError
from {{ cookiecutter.package_name }}.batch.engines import run_dask, run_spark

REQUIRED = [name for name, field in InputRecord.model_fields.items() if field.is_required()]
ENGINES = {"dask": "dask.distributed", "spark": "pyspark"}


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> str:
    module = ENGINES[request.param]
    try:
        importlib.import_module(module)
    except ImportError:
        if os.environ.get("REQUIRE_BATCH_ENGINES") == "1":
            raise
        pytest.skip(f"{module} is not installed: tox -e test_engines installs it")
    name: str = request.param
    return name


def run(engine: str, source: Path, output: Path) -> tuple[int, int]:
    if engine == "spark":
        return run_spark(str(source), str(output), None, "local[2]", False)
    return run_dask(source, output, None, None, False)


def test_parquet_and_csv_score_as_make_prediction_does(
    engine: str, table: Path, tmp_path: Path
) -> None:
    """One session per engine scores both files; the rows come back numbered as the input."""
    frame = pd.read_parquet(table)
    text = tmp_path / "table.csv"
    frame.astype(object).where(frame.notna(), "").to_csv(text, index=False)
    expected = expected_scores(table)
    rows, invalid = run(engine, table, tmp_path / "parquet-scores")
    assert (rows, invalid) == (len(expected), expected["error"].notna().sum())
    assert_same_scores(tmp_path / "parquet-scores", expected)
    run(engine, text, tmp_path / "csv-scores")
    csv_scores = pd.read_parquet(tmp_path / "csv-scores").sort_values("row", ignore_index=True)
    assert csv_scores["row"].tolist() == list(range(len(frame)))
    assert csv_scores["error"].notna().sum() > 0


def test_a_missing_required_column_fails_before_any_work(
    engine: str, table: Path, tmp_path: Path
) -> None:
    pd.read_parquet(table).drop(columns=REQUIRED[:1]).to_parquet(tmp_path / "short.parquet")
    with pytest.raises(BatchInputError, match=f"missing required columns \\['{REQUIRED[0]}'\\]"):
        run(engine, tmp_path / "short.parquet", tmp_path / "scores")
    assert not (tmp_path / "scores").exists()
