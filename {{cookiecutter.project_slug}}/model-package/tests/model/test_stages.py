"""The training pipeline's stages (dvc.yaml runs them one by one) and the files they hand on."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }} import CLASSES, TASK, InputRecord, __version__
from {{ cookiecutter.package_name }}.config import ModelConfig, config
from {{ cookiecutter.package_name }}.data import MissingStageInputError, Part
from {{ cookiecutter.package_name }}.persistence import ModelNotTrainedError, load_metadata
from {{ cookiecutter.package_name }}.release import StaleModelError, check
from {{ cookiecutter.package_name }}.stages import (
    calibrate_interval,
    evaluate,
    strata,
    train,
)


def test_a_small_regression_keeps_a_row_of_every_bin_on_both_sides() -> None:
    """20 rows and a 20% holdout: 4 holdout rows, so 4 bins of the target, not 10."""
    regression = config.model_copy(update={"task": "regression"})
    targets = pd.Series(np.arange(20.0))
    bins = strata(targets, regression)
    assert bins.nunique() == 4
    _, held_out = train_test_split(targets, test_size=0.2, random_state=0, stratify=bins)
    assert sorted(bins[held_out.index]) == [0, 1, 2, 3]


def test_the_interval_is_the_kth_smallest_residual() -> None:
    """Residuals 1 to 19 at 90% coverage: k = ceil((19 + 1) * 0.9) = 18, the 18th smallest."""
    model = config.model.model_copy(update={"interval_coverage": 0.9})
    regression = config.model_copy(update={"task": "regression", "model": model})
    interval = calibrate_interval(list(np.arange(1.0, 20.0)), np.zeros(19), regression)
    assert (interval.coverage, interval.half_width) == (0.9, 18.0)


def test_prepare_writes_valid_records_and_a_stratified_split(prepared: Path) -> None:
    train_part, holdout = Part.read(prepared / "train.jsonl"), Part.read(prepared / "holdout.jsonl")
    for record in holdout.records[:50]:
        InputRecord.model_validate(record)
    if TASK == "classification":
        assert set(train_part.targets) == set(holdout.targets) == set(CLASSES)
        for name in CLASSES:
            share = train_part.targets.count(name) / len(train_part.targets)
            held = holdout.targets.count(name) / len(holdout.targets)
            assert held == pytest.approx(share, abs=0.02)
    else:  # a fifth of the holdout in each fifth of the training values, give or take a row
        edges = np.quantile(train_part.targets, [0.2, 0.4, 0.6, 0.8])
        fifths = np.bincount(np.searchsorted(edges, holdout.targets), minlength=5)
        assert fifths / len(holdout.targets) == pytest.approx([0.2] * 5, abs=0.04)
    source = json.loads((prepared / "source.json").read_text())
    assert len(source["sha256"]) == 64


def test_evaluate_writes_metrics_and_plot_data(tmp_path: Path, prepared: Path) -> None:
    model_dir, reports = tmp_path / "model", tmp_path / "reports"
    train(prepared_dir=prepared, output_dir=model_dir)
    metrics = evaluate(prepared_dir=prepared, model_dir=model_dir, reports_dir=reports)
    assert json.loads((reports / "metrics.json").read_text()) == metrics.model_dump()
    assert metrics == load_metadata(__version__, model_dir).metrics

    holdout = Part.read(prepared / "holdout.jsonl")
    if TASK == "regression":
        (plot,) = (reports / "plots").iterdir()
        predictions = pd.read_csv(plot)
        assert predictions.columns.tolist() == ["actual", "predicted", "residual"]
        assert predictions["actual"].tolist() == pytest.approx(holdout.targets)
        difference = predictions["actual"] - predictions["predicted"]
        assert predictions["residual"].tolist() == pytest.approx(difference.tolist())
        return
    roc = pd.read_csv(reports / "plots" / "roc.csv")
    assert (roc.iloc[0].tolist(), roc.iloc[-1].tolist()) == ([0, 0], [1, 1])
    assert roc["fpr"].is_monotonic_increasing
    calibration = pd.read_csv(reports / "plots" / "calibration.csv")
    assert calibration.columns.tolist() == ["predicted", "observed"]
    assert calibration.to_numpy().min() >= 0
    assert calibration.to_numpy().max() <= 1
    confusion = pd.read_csv(reports / "plots" / "confusion.csv")
    assert len(confusion) == len(holdout.targets)
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
