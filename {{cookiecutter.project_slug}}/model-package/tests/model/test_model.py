import json
from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import __version__
from {{ cookiecutter.package_name }}.config import DATASET_DIR, LEAKY_COLUMNS, config
from {{ cookiecutter.package_name }}.data import sha256_of
from {{ cookiecutter.package_name }}.persistence import (
    SUFFIXES,
    ModelNotTrainedError,
    artifact_stem,
    load_metadata,
    load_pipeline,
    load_session,
)
from {{ cookiecutter.package_name }}.train_pipeline import Split, evaluate, train

ROC_AUC_FLOOR = 0.84
ACCURACY_FLOOR = 0.78


def test_holdout_quality_is_above_the_floor(split: Split) -> None:
    _, x_holdout, _, y_holdout = split
    metrics = evaluate(load_pipeline(), x_holdout, y_holdout)
    assert metrics.roc_auc >= ROC_AUC_FLOOR
    assert metrics.accuracy >= ACCURACY_FLOOR


def test_metadata_describes_the_artifact(split: Split) -> None:
    _, x_holdout, _, y_holdout = split
    metadata = load_metadata()
    assert metadata.version == __version__
    assert metadata.data_sha256 == sha256_of(DATASET_DIR / config.data.file)
    assert metadata.n_holdout == len(x_holdout)
    assert metadata.metrics == evaluate(load_pipeline(), x_holdout, y_holdout)
    assert metadata.features.numeric == config.features.numeric


def test_leaky_columns_are_not_used() -> None:
    used = set(load_pipeline().feature_names_in_)
    assert used == set(config.features.all)
    assert {node.name for node in load_session().get_inputs()} == used
    assert not LEAKY_COLUMNS.intersection(used)
    assert not LEAKY_COLUMNS.intersection(load_metadata().input_fields)


def test_same_seed_gives_identical_predictions(tmp_path: Path, split: Split) -> None:
    _, x_holdout, _, _ = split
    train(output_dir=tmp_path / "first")
    train(output_dir=tmp_path / "second")
    first = load_pipeline(__version__, tmp_path / "first").predict_proba(x_holdout)
    second = load_pipeline(__version__, tmp_path / "second").predict_proba(x_holdout)
    np.testing.assert_array_equal(first, second)


def test_training_replaces_older_artifacts(tmp_path: Path) -> None:
    for suffix in SUFFIXES:
        (tmp_path / f"survival_pipeline_v0.0.1{suffix}").write_text("old")
    metadata = train(output_dir=tmp_path)
    stem = artifact_stem(metadata.version)
    expected = sorted(f"{stem}{suffix}" for suffix in SUFFIXES)
    assert sorted(path.name for path in tmp_path.iterdir()) == expected
    assert json.loads((tmp_path / f"{stem}.json").read_text())["version"] == __version__


def test_missing_artifact_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(ModelNotTrainedError, match="tox -e train"):
        load_pipeline(__version__, tmp_path)
    with pytest.raises(ModelNotTrainedError, match="tox -e train"):
        load_session(__version__, tmp_path)
