import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import (
    CLASSES,
    TASK,
    __version__,
    load_model,
    make_prediction,
)
from {{ cookiecutter.package_name }}.config import DATASET_DIR, ModelConfig, config
from {{ cookiecutter.package_name }}.data import Part, sha256_of
from {{ cookiecutter.package_name }}.metrics import holdout_metrics, score
from {{ cookiecutter.package_name }}.persistence import (
    SUFFIXES,
    ModelNotTrainedError,
    artifact_stem,
    load_metadata,
    load_pipeline,
    load_session,
)
from {{ cookiecutter.package_name }}.results import INPUT_FIELDS
from {{ cookiecutter.package_name }}.scores import regression_scores
from {{ cookiecutter.package_name }}.stages import train


def test_metadata_describes_the_artifact(holdout: Part) -> None:
    metadata = load_model()
    assert metadata.version == __version__
    assert metadata.estimator == config.model.estimator
    assert metadata.target == config.data.target
    assert sorted(metadata.classes) == sorted(CLASSES)
    assert metadata.data_sha256 == sha256_of(DATASET_DIR / config.data.file)
    assert metadata.n_holdout == len(holdout.targets)
    assert metadata.metrics == score(
        load_pipeline(), holdout.inputs(), holdout.targets, metadata.interval
    )
    assert (metadata.task, metadata.interval is None) == (TASK, TASK == "classification")
    assert metadata.input_fields == list(INPUT_FIELDS)
    assert metadata.features.numeric == config.features.numeric


def test_served_answers_give_the_training_metrics(holdout: Part) -> None:
    """The gate measures each model from make_prediction's output: probabilities in CLASSES
    order, or values and intervals."""
    result = make_prediction(holdout.records)
    trained = load_model().metrics.model_dump()
    if TASK == "regression":
        low, high = np.array(result.intervals).T
        values = np.array(result.values, dtype=float)
        served = regression_scores(holdout.targets, values, low, high)
        assert served == pytest.approx(trained, rel=1e-4)  # ONNX computes in float32
        return
    probabilities = result.probabilities
    matrix = np.array([[row[name] for name in CLASSES] for row in probabilities if row])
    served = holdout_metrics(holdout.targets, matrix, CLASSES).model_dump()
    # ONNX's float32 turns near-equal scores into ties: ROC AUC may move in the 5th decimal.
    assert served == pytest.approx(trained, abs=1e-4)


def test_the_model_uses_exactly_the_configured_features() -> None:
    used = list(load_pipeline().feature_names_in_)
    assert used == config.features.all
    assert [node.name for node in load_session().get_inputs()] == used


def test_same_seed_gives_identical_predictions(
    tmp_path: Path, prepared: Path, holdout: Part
) -> None:
    """With a randomised estimator (a random forest), so that a seed that did not reach it would
    show: the same seed trains the same model, another seed another."""
    forest = ModelConfig(estimator="random_forest", params={"n_estimators": 20})

    def trained(seed: int, folder: str) -> Any:
        split = config.split.model_copy(update={"random_state": seed})
        configured = config.model_copy(update={"model": forest, "split": split})
        train(configured, prepared, tmp_path / folder)
        pipeline = load_pipeline(__version__, tmp_path / folder)
        answer = pipeline.predict_proba if TASK == "classification" else pipeline.predict
        return answer(holdout.inputs())

    first, second = trained(7, "first"), trained(7, "second")
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, trained(8, "third"))


def test_training_replaces_older_artifacts(tmp_path: Path, prepared: Path) -> None:
    for suffix in SUFFIXES:
        (tmp_path / f"{config.artifact.name}_v0.0.1{suffix}").write_text("old")
    metadata = train(prepared_dir=prepared, output_dir=tmp_path)
    stem = artifact_stem(metadata.version)
    expected = sorted(f"{stem}{suffix}" for suffix in SUFFIXES)
    assert sorted(path.name for path in tmp_path.iterdir()) == expected
    assert json.loads((tmp_path / f"{stem}.json").read_text())["version"] == __version__


def test_missing_artifact_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(ModelNotTrainedError, match="tox -e train"):
        load_pipeline(__version__, tmp_path)
    with pytest.raises(ModelNotTrainedError, match="tox -e train"):
        load_session(__version__, tmp_path)
    with pytest.raises(ModelNotTrainedError, match="tox -e train"):
        load_metadata(__version__, tmp_path)
