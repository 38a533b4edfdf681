"""Logged rows (datasets/logged/, from the API's harvest) joining the data file's rows."""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import LOGGED_FILE, TARGET, TASK, HarvestSummary
from {{ cookiecutter.package_name }}.card import LOGGED_HEADING
from {{ cookiecutter.package_name }}.config import (
    DATASET_DIR,
    Config,
    LoggedConfig,
    SplitConfig,
    config,
)
from {{ cookiecutter.package_name }}.data import DataValidationError, Part
from {{ cookiecutter.package_name }}.logged import (
    SUMMARY_FILE,
    combine,
    load_logged,
    summarise,
)
from {{ cookiecutter.package_name }}.persistence import load_card
from {{ cookiecutter.package_name }}.release import StaleModelError, check
from {{ cookiecutter.package_name }}.stages import prepare, train

DAYS = 100


def write_harvest(folder: Path, rows: pd.DataFrame, outcome_share: float = 0.5) -> Path:
    """A harvest as the API writes it: the rows, one a day from 2026-01-01 (written in shuffled
    order), and its summary."""
    times = pd.date_range("2026-01-01", periods=len(rows), freq="D", tz="UTC")
    logged = rows.assign(
        prediction_id=[f"p{index}" for index in range(len(rows))],
        model_version=["0.1.0" if index % 2 else "0.1.1" for index in range(len(rows))],
        predicted_at=times.map(pd.Timestamp.isoformat),
    ).sample(frac=1, random_state=0)
    (folder / LOGGED_FILE).parent.mkdir(parents=True, exist_ok=True)
    logged.to_csv(folder / LOGGED_FILE, index=False)
    served = {"predictions": 100, "outcomes": round(100 * outcome_share)}
    summary = HarvestSummary.model_validate(
        {
            "since": None,
            "until": None,
            "harvested_at": datetime(2026, 5, 1, tzinfo=UTC),
            "rows": len(rows),
            "csv_sha256": hashlib.sha256((folder / LOGGED_FILE).read_bytes()).hexdigest(),
            "duplicates_merged": 3,
            "left_out": {"retired_field: Extra inputs are not permitted": 2},
            "versions": {"0.1.0": served, "0.1.1": served},
        }
    )
    (folder / SUMMARY_FILE).write_text(summary.model_dump_json(), encoding="utf-8")
    return folder


@pytest.fixture
def harvest(tmp_path: Path, dataset: pd.DataFrame) -> Path:
    """The data file and a harvest of 100 of its rows drawn at random (a file's first rows may all
    be of one class), in a datasets folder of their own."""
    sample = dataset.sample(DAYS, random_state=0)
    folder = write_harvest(tmp_path / "datasets", sample, outcome_share=0.1)
    (folder / config.data.file).write_bytes((DATASET_DIR / config.data.file).read_bytes())
    return folder


def with_rule(**rule: float | None) -> Config:
    """config.yml with another `logged` rule."""
    return config.model_copy(update={"logged": LoggedConfig.model_validate(rule)})


def test_the_rule_keeps_the_newest_months_then_caps_the_share(
    harvest: Path, dataset: pd.DataFrame
) -> None:
    logged = load_logged(config, harvest)
    assert logged is not None
    assert len(logged) == DAYS
    rows, kept = combine(dataset, logged, with_rule(max_share=1))
    assert (len(rows), len(kept)) == (len(dataset) + DAYS, DAYS)
    assert kept["predicted_at"].is_monotonic_increasing  # the file's shuffled order, sorted
    _, kept = combine(dataset, logged, with_rule(keep_months=1, max_share=1))
    # one a day up to 2026-04-10: a month back is 2026-03-10, 32 days in all
    assert len(kept) == 32
    assert kept["predicted_at"].min() == pd.Timestamp("2026-03-10", tz="UTC")
    _, kept = combine(dataset.head(60), logged, config)  # max_share 0.5: 60 of 120
    assert len(kept) == 60
    assert kept["predicted_at"].max() == logged["predicted_at"].max()  # the newest kept
    _, kept = combine(dataset.head(2), logged, with_rule(max_share=0.6))  # 3 of 5, exactly
    assert len(kept) == 3
    _, kept = combine(dataset, logged, with_rule(max_share=0))
    assert kept.empty


def test_training_names_the_logged_rows_and_the_card_warns(harvest: Path, tmp_path: Path) -> None:
    prepared = tmp_path / "prepared"
    train_part, holdout = prepare(data_file=harvest / config.data.file, out_dir=prepared)
    original = len(pd.read_csv(harvest / config.data.file))
    assert len(train_part.targets) + len(holdout.targets) == original + DAYS
    metadata = train(prepared_dir=prepared, output_dir=tmp_path / "model")
    assert metadata.logged is not None
    assert (metadata.logged.rows, metadata.logged.cut_by_rule) == (DAYS, 0)
    assert metadata.logged.versions == {"0.1.0": 50, "0.1.1": 50}
    assert metadata.logged.first == pd.Timestamp("2026-01-01", tz="UTC")
    assert metadata.logged.last == pd.Timestamp("2026-04-10", tz="UTC")
    assert metadata.logged.outcome_share == {"0.1.0": 0.1, "0.1.1": 0.1}
    assert any("only 10% of version 0.1.0" in warning for warning in metadata.logged.warnings)
    card = load_card("markdown", metadata.version, tmp_path / "model")
    assert f"## {LOGGED_HEADING}" in card
    assert f"{original} from {config.data.file}, {DAYS} from the log" in card
    assert "2 (retired_field: Extra inputs are not permitted); 3 sent again, merged" in card
    assert "**Bias:** only 10% of version 0.1.0's logged predictions got an outcome" in card
    # datasets/ has no harvest: a build would ship a model of other data
    with pytest.raises(StaleModelError, match=r"other logged rows than config\.yml"):
        check(config, tmp_path / "model")


def test_a_newest_holdout_is_the_end_of_the_log(harvest: Path, tmp_path: Path) -> None:
    split = SplitConfig(test_size=0.05, random_state=0, holdout="newest")
    newest = config.model_copy(update={"split": split, "logged": LoggedConfig(max_share=1)})
    prepare(newest, harvest / config.data.file, tmp_path)
    holdout = Part.read(tmp_path / "holdout.jsonl")
    logged = load_logged(config, harvest)
    assert logged is not None
    in_time = logged.sort_values("predicted_at")
    tail = min(DAYS, len(holdout.records))
    inputs = list(holdout.records[0])
    expected = in_time[inputs].tail(tail).astype(object)
    assert holdout.records[-tail:] == expected.where(expected.notna(), None).to_dict("records")


@pytest.mark.skipif(TASK != "classification", reason="a classifier's classes")
def test_a_newest_holdout_of_one_class_is_refused(dataset: pd.DataFrame, tmp_path: Path) -> None:
    one_class = dataset[dataset[TARGET] == dataset[TARGET].iloc[0]].head(DAYS)
    folder = write_harvest(tmp_path / "datasets", one_class)
    (folder / config.data.file).write_bytes((DATASET_DIR / config.data.file).read_bytes())
    split = SplitConfig(test_size=0.05, random_state=0, holdout="newest")
    newest = config.model_copy(update={"split": split, "logged": LoggedConfig(max_share=1)})
    with pytest.raises(DataValidationError, match="are all of the class"):
        prepare(newest, folder / config.data.file, tmp_path / "prepared")


def test_a_log_one_class_or_one_tenth_dominates_is_warned_of(
    dataset: pd.DataFrame, tmp_path: Path
) -> None:
    targets = dataset[TARGET]
    if TASK == "classification":
        rows = dataset[targets == targets.iloc[0]].head(50)
        expected = f"100% of the logged rows are of the class {targets.iloc[0]!r}"
    else:  # the 50 lowest values: most of them in the data file's lowest tenth
        rows = dataset.sort_values(TARGET).head(50)
        expected = "where a tenth of the data file's rows lie"
    folder = write_harvest(tmp_path, rows, outcome_share=0.5)
    logged = load_logged(config, folder)
    assert logged is not None
    _, kept = combine(dataset, logged, config)
    warnings = summarise(dataset, logged, kept, config, folder).warnings
    assert len(warnings) == 1  # half the predictions got an outcome: not a low share
    assert expected in warnings[0]


def test_a_bad_harvest_is_refused_with_its_line(harvest: Path, tmp_path: Path) -> None:
    data_file = harvest / config.data.file
    summary = (harvest / SUMMARY_FILE).read_text(encoding="utf-8")
    (harvest / SUMMARY_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(DataValidationError, match="not the summary of a harvest"):
        prepare(data_file=data_file, out_dir=tmp_path)
    (harvest / SUMMARY_FILE).unlink()
    with pytest.raises(DataValidationError, match="not the summary of a harvest"):
        prepare(data_file=data_file, out_dir=tmp_path)
    (harvest / SUMMARY_FILE).write_text(summary, encoding="utf-8")
    logged = pd.read_csv(harvest / LOGGED_FILE)
    logged.head(10).to_csv(harvest / LOGGED_FILE, index=False)  # the summary names another CSV
    with pytest.raises(DataValidationError, match="describes another"):
        prepare(data_file=data_file, out_dir=tmp_path)

    def rewrite(frame: pd.DataFrame) -> None:
        """The CSV changed, its summary updated to match: only the content is wrong."""
        frame.to_csv(harvest / LOGGED_FILE, index=False)
        digest = hashlib.sha256((harvest / LOGGED_FILE).read_bytes()).hexdigest()
        matching = HarvestSummary.model_validate_json(summary).model_copy(
            update={"csv_sha256": digest}
        )
        (harvest / SUMMARY_FILE).write_text(matching.model_dump_json(), encoding="utf-8")

    rewrite(logged.drop(columns="model_version"))
    with pytest.raises(DataValidationError, match="not a harvest: it needs the columns"):
        prepare(data_file=data_file, out_dir=tmp_path)
    bad_time = logged.copy()
    bad_time.loc[3, "predicted_at"] = "yesterday"
    rewrite(bad_time)
    with pytest.raises(DataValidationError, match="line 5: predicted_at is not an ISO 8601"):
        prepare(data_file=data_file, out_dir=tmp_path)
    if TASK == "classification":
        rewrite(logged.assign(**{TARGET: "nobody knows"}))
        with pytest.raises(DataValidationError, match="'nobody knows'"):
            prepare(data_file=data_file, out_dir=tmp_path)
    assert not (tmp_path / "train.jsonl").exists()
