"""The training pipeline's stages (dvc.yaml runs them one by one) and the files they hand on."""

import json
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import CLASSES, InputRecord, __version__
from {{ cookiecutter.package_name }}.config import ModelConfig, config
from {{ cookiecutter.package_name }}.persistence import ModelNotTrainedError, load_metadata
from {{ cookiecutter.package_name }}.stages import (
    MissingStageInputError,
    Part,
    StaleModelError,
    check,
    evaluate,
    train,
)


def test_prepare_writes_valid_records_and_a_stratified_split(prepared: Path) -> None:
    train_part, holdout = Part.read(prepared / "train.jsonl"), Part.read(prepared / "holdout.jsonl")
    for record in holdout.records[:50]:
        InputRecord.model_validate(record)
    assert set(train_part.labels) == set(holdout.labels) == set(CLASSES)
    for name in CLASSES:
        share = train_part.labels.count(name) / len(train_part.labels)
        assert holdout.labels.count(name) / len(holdout.labels) == pytest.approx(share, abs=0.02)
    source = json.loads((prepared / "source.json").read_text())
    assert len(source["sha256"]) == 64


def test_evaluate_writes_metrics_and_plot_data(tmp_path: Path, prepared: Path) -> None:
    model_dir, reports = tmp_path / "model", tmp_path / "reports"
    train(prepared_dir=prepared, output_dir=model_dir)
    metrics = evaluate(prepared_dir=prepared, model_dir=model_dir, reports_dir=reports)
    assert json.loads((reports / "metrics.json").read_text()) == metrics.model_dump()
    assert metrics == load_metadata(__version__, model_dir).metrics

    roc = pd.read_csv(reports / "plots" / "roc.csv")
    assert (roc.iloc[0].tolist(), roc.iloc[-1].tolist()) == ([0, 0], [1, 1])
    assert roc["fpr"].is_monotonic_increasing
    calibration = pd.read_csv(reports / "plots" / "calibration.csv")
    assert calibration.columns.tolist() == ["predicted", "observed"]
    assert calibration.to_numpy().min() >= 0
    assert calibration.to_numpy().max() <= 1
    confusion = pd.read_csv(reports / "plots" / "confusion.csv")
    assert len(confusion) == len(Part.read(prepared / "holdout.jsonl").labels)
    assert set(confusion["actual"]) <= set(CLASSES)


def test_a_stage_without_its_input_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(MissingStageInputError, match="run the prepare stage first"):
        train(prepared_dir=tmp_path, output_dir=tmp_path / "model")


def test_check_lets_a_build_package_only_the_model_config_yml_describes(
    tmp_path: Path, prepared: Path
) -> None:
    """tox -e build runs check and never trains: a missing or stale model stops it."""
    with pytest.raises(ModelNotTrainedError, match="no trained model"):
        check(model_dir=tmp_path / "empty")
    train(prepared_dir=prepared, output_dir=tmp_path)
    assert check(model_dir=tmp_path).version == __version__
    seed = config.split.random_state + 1  # every estimator takes a random_state
    params = {**config.model.params, "random_state": seed}
    other = ModelConfig(estimator=config.model.estimator, params=params)
    with pytest.raises(StaleModelError, match=r"has other params than config\.yml"):
        check(config.model_copy(update={"model": other}), model_dir=tmp_path)
