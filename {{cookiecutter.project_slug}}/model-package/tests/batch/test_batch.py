"""The batch scorer's local engine against make_prediction, on any model."""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_reference import ANSWER, answers, assert_same_scores, cells, expected_scores
from loguru import logger

from {{ cookiecutter.package_name }} import EXAMPLE_RECORD, InputRecord, make_prediction
from {{ cookiecutter.package_name }}.batch import BatchInputError, engines
from {{ cookiecutter.package_name }}.batch.engines import run_local
from {{ cookiecutter.package_name }}.batch.scoring import ERROR, ROW
from {{ cookiecutter.package_name }}.config import config
from {{ cookiecutter.package_name }}.data import to_records
from {{ cookiecutter.package_name }}.strict_record import expected_kind

REQUIRED = [name for name, field in InputRecord.model_fields.items() if field.is_required()]
# A column of the wrong type throughout, for each kind of field InputRecordBase guards.
WRONG_COLUMNS = {
    "number": [[True, False, None], ["1", "text", None]],
    "text": [[1, 2, None], [1.5, 2.5, None]],
    "boolean": [[1, 0, None], ["true", "no", None]],
}


def test_equals_make_prediction_on_the_holdout_and_hostile_rows(
    table: Path, tmp_path: Path
) -> None:
    output = tmp_path / "scores.parquet"
    rows, invalid = run_local(table, output, None, 100_000, 1, False)
    expected = expected_scores(table)
    assert_same_scores(output, expected)
    assert (rows, invalid) == (len(expected), expected[ERROR].notna().sum())
    assert 0 < invalid < rows  # the hostile rows did find errors, and nothing aborted


def test_chunks_and_worker_processes_keep_the_rows_in_order(table: Path, tmp_path: Path) -> None:
    """Small chunks over two worker processes: every row once, numbered as the input."""
    output = tmp_path / "scores.parquet"
    run_local(table, output, None, 64, 2, False)
    assert_same_scores(output, expected_scores(table))


@pytest.mark.parametrize(
    ("name", "column"),
    [
        (name, column)
        for name, field in InputRecord.model_fields.items()
        for column in WRONG_COLUMNS.get(expected_kind(field.annotation) or "", [])
    ],
)
def test_a_column_of_the_wrong_type_gets_make_predictions_errors(
    name: str, column: list[object], tmp_path: Path
) -> None:
    """Typed columns are checked as a caller's JSON is: no quiet coercion of true or "1"."""
    path = tmp_path / "wrong.parquet"
    pd.DataFrame([{**EXAMPLE_RECORD, name: value} for value in column]).to_parquet(path)
    run_local(path, tmp_path / "scores.parquet", None, 100_000, 1, False)
    assert_same_scores(tmp_path / "scores.parquet", expected_scores(path))


def test_csv_is_read_as_text_like_the_training_data(table: Path, tmp_path: Path) -> None:
    """CSV cells are text: numbers parse, config.yml's missing values are missing, and a cell
    that is no number gets an error of its own row only."""
    frame = pd.read_parquet(table)
    missing = config.data.missing_values[0] if config.data.missing_values else ""
    text = frame.astype(object).where(frame.notna(), missing)
    number = next(
        name
        for name, field in InputRecord.model_fields.items()
        if expected_kind(field.annotation) == "number"
    )
    text.loc[0, number] = "not a number"
    path = tmp_path / "table.csv"
    text.to_csv(path, index=False)
    output = tmp_path / "scores.parquet"
    run_local(path, output, None, 100_000, 1, False)
    scored = pd.read_parquet(output)
    assert str(scored.loc[0, ERROR]).startswith(f"{number}: ")
    parquet = tmp_path / "from_parquet.parquet"
    run_local(table, parquet, None, 100_000, 1, False)
    reference = pd.read_parquet(parquet)
    clean = reference[ERROR].isna() & (reference.index > 0)
    assert cells(scored[ANSWER][clean]) == cells(reference[ANSWER][clean])


def test_a_key_column_is_kept(table: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(table).head(20)
    keyed = frame.assign(customer_id=[f"id-{row}" for row in range(len(frame))])
    keyed.to_parquet(tmp_path / "keyed.parquet")
    output = tmp_path / "scores.parquet"
    run_local(tmp_path / "keyed.parquet", output, "customer_id", 100_000, 1, False)
    scored = pd.read_parquet(output)
    assert scored.columns[0] == "customer_id"
    assert scored["customer_id"].tolist() == keyed["customer_id"].tolist()
    reference = make_prediction(to_records(frame))
    assert cells(scored[ANSWER]) == answers(reference)


def test_progress_names_rows_done_of_all_and_the_rate(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "PROGRESS_EVERY_SECONDS", 0.0)
    total = pq.ParquetFile(table).metadata.num_rows
    lines: list[str] = []
    handler = logger.add(lines.append, format="{message}")
    logger.enable("{{ cookiecutter.package_name }}")
    try:
        run_local(table, tmp_path / "scores.parquet", None, 10, 1, False)
    finally:
        logger.disable("{{ cookiecutter.package_name }}")
        logger.remove(handler)
    pattern = rf"10 rows of {total:,} \(\d+%\) scored, [\d,]+ rows/s"
    assert re.fullmatch(pattern, lines[0].strip()), lines


def test_a_key_keeps_its_exact_values_even_with_gaps(table: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(table).head(3)
    keys = pa.array([2**60 + 1, None, 2**60 + 3], type=pa.int64())
    keyed = pa.Table.from_pandas(frame, preserve_index=False).append_column("id", keys)
    pq.write_table(keyed, tmp_path / "keyed.parquet")
    run_local(tmp_path / "keyed.parquet", tmp_path / "scores.parquet", "id", 100_000, 1, False)
    assert pq.read_table(tmp_path / "scores.parquet").column("id").to_pylist() == keys.to_pylist()


def test_a_key_may_be_an_input_field_of_a_csv(table: Path, tmp_path: Path) -> None:
    key = REQUIRED[0]
    pd.read_parquet(table).head(5).to_csv(tmp_path / "table.csv", index=False)
    run_local(tmp_path / "table.csv", tmp_path / "scores.parquet", key, 100_000, 1, False)
    scored = pd.read_parquet(tmp_path / "scores.parquet")
    assert list(scored.columns[:2]) == [key, ANSWER]
    assert len(scored) == 5


def test_a_folder_of_parquet_files_needs_a_key(table: Path, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = pd.read_parquet(table).assign(id=lambda rows: range(len(rows)))
    for part, start in enumerate(range(0, len(frame), 100)):
        frame.iloc[start : start + 100].to_parquet(folder / f"part.{part}.parquet")
    with pytest.raises(BatchInputError, match="give --key COLUMN"):
        run_local(folder, tmp_path / "scores.parquet", None, 100_000, 1, False)
    run_local(folder, tmp_path / "scores.parquet", "id", 64, 1, False)
    scored = pd.read_parquet(tmp_path / "scores.parquet").sort_values("id", ignore_index=True)
    expected = expected_scores(table)
    assert scored["id"].tolist() == expected[ROW].tolist()
    assert cells(scored[ERROR]) == cells(expected[ERROR])


def test_a_header_only_csv_gives_an_empty_output(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text(",".join(InputRecord.model_fields) + "\n")
    rows = run_local(tmp_path / "empty.csv", tmp_path / "scores.parquet", None, 100_000, 1, False)
    assert rows == (0, 0)
    assert pq.read_table(tmp_path / "scores.parquet").num_rows == 0


def test_a_malformed_csv_is_named_and_nothing_is_written(table: Path, tmp_path: Path) -> None:
    pd.read_parquet(table).head(5).to_csv(tmp_path / "table.csv", index=False)
    with (tmp_path / "table.csv").open("a") as text:
        text.write("just,two\n")
    with pytest.raises(BatchInputError, match="cannot be read: CSV parse error"):
        run_local(tmp_path / "table.csv", tmp_path / "scores.parquet", None, 100_000, 1, False)
    assert not (tmp_path / "scores.parquet").exists()


def test_overwrite_never_removes_a_folder_of_other_files(table: Path, tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "notes.txt").write_text("keep me")
    with pytest.raises(BatchInputError, match="--overwrite never removes it"):
        run_local(table, tmp_path / "reports", None, 100_000, 1, True)
    assert (tmp_path / "reports" / "notes.txt").read_text() == "keep me"


def test_a_missing_required_column_fails_before_any_work(table: Path, tmp_path: Path) -> None:
    pd.read_parquet(table).drop(columns=REQUIRED[:2]).to_parquet(tmp_path / "short.parquet")
    output = tmp_path / "scores.parquet"
    with pytest.raises(BatchInputError, match="missing required columns") as error:
        run_local(tmp_path / "short.parquet", output, None, 100_000, 1, False)
    assert all(repr(name) in str(error.value) for name in REQUIRED[:2])
    assert list(tmp_path.iterdir()) == [tmp_path / "short.parquet"]  # nothing written


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("absent.parquet", "no such file"),
        ("table.json", "unknown format '.json'"),
        ("empty.csv", "cannot be read"),
    ],
)
def test_an_unusable_input_is_named(source: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "table.json").write_text("{}")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(BatchInputError, match=message):
        run_local(tmp_path / source, tmp_path / "scores.parquet", None, 100_000, 1, False)


def test_an_existing_output_is_kept_unless_overwrite_is_given(table: Path, tmp_path: Path) -> None:
    output = tmp_path / "scores.parquet"
    output.write_text("yesterday's scores")
    with pytest.raises(BatchInputError, match="exists; pass --overwrite"):
        run_local(table, output, None, 100_000, 1, False)
    assert output.read_text() == "yesterday's scores"
    run_local(table, output, None, 100_000, 1, True)
    assert pd.read_parquet(output)[ROW].is_monotonic_increasing


def test_the_command_line_reports_in_one_line(table: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}.batch"]
    done = subprocess.run(
        [*command, str(table), str(tmp_path / "out.parquet"), "--workers", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Scored " in done.stderr
    failed = subprocess.run(
        [*command, str(tmp_path / "nothing.csv"), str(tmp_path / "out2.parquet")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2
    assert "Batch scoring failed: " in failed.stderr
    assert "nothing.csv: no such file" in failed.stderr
    assert "Traceback" not in failed.stderr
