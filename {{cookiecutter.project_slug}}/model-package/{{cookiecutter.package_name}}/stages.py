"""Training as three stages, each a function with its own files: prepare -> train -> evaluate.

    python -m {{ cookiecutter.package_name }}.stages          # all three
    python -m {{ cookiecutter.package_name }}.stages prepare  # one
    python -m {{ cookiecutter.package_name }}.stages check    # before a build

prepare validates the data file and splits it into data/prepared/ (train.jsonl, holdout.jsonl and
source.json). train fits the pipeline on the train part, scores it on the holdout and writes the
versioned artifacts, their metadata and the model card into trained_models/, where the wheel picks
them up (tox -e gate adds its decision to the metadata and the card before the build). evaluate
writes reports/metrics.json and the plot data of reports/plots/ (a classifier's ROC,
calibration and confusion; a regression's predicted against actual values).
`tox -e train`, `tox -e test_package` and `dvc repro` run these functions; `tox -e build` only runs
check, which refuses a missing model or one that config.yml or the data no longer describe.
"""

import argparse
import json
import math
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as distributions
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from loguru import logger
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve
from sklearn.model_selection import KFold, cross_val_predict, train_test_split

from ._version import __version__
from .card import CALIBRATION_BINS, calibration_inputs, render_card
from .columns import model_inputs, to_columns
from .config import (
    DATASET_DIR,
    PREPARED_DIR,
    REPORTS_DIR,
    TRAINED_MODEL_DIR,
    Config,
    config,
)
from .data import load_dataset, sha256_of, to_records
from .drift import build_profile, model_features
from .estimators import build_pipeline, resolve_estimator, to_onnx
from .metrics import score
from .persistence import (
    ModelNotTrainedError,
    load_metadata,
    load_pipeline,
    save_metadata,
    save_model,
)
from .results import (
    INPUT_FIELDS,
    FeatureLists,
    GateRecord,
    HoldoutMetrics,
    Interval,
    ModelMetadata,
)

# Recorded in the metadata and the card: what trained the model and converted it to ONNX.
LIBRARIES = ("numpy", "pandas", "scikit-learn", "skl2onnx", "onnx", "onnxruntime", "pydantic")
# A regression's split is stratified on this many quantile bins of the target, and its interval
# is calibrated on out-of-fold residuals of this many folds.
TARGET_BINS = 10
INTERVAL_FOLDS = 5


class MissingStageInputError(ValueError):
    """A stage's input file is not there: an earlier stage has not run."""


@dataclass(frozen=True)
class Part:
    """One side of the split: records as the input schema validated them, and their targets
    (class names, or numbers)."""

    records: list[dict[str, Any]]
    targets: list[Any]

    def inputs(self, config: Config = config) -> pd.DataFrame:
        """The pipeline's input columns, built as serving builds them."""
        numeric, categorical = config.features.numeric, config.features.categorical
        return pd.DataFrame(model_inputs(to_columns(self.records), numeric, categorical))

    def write(self, path: Path) -> None:
        lines = (
            json.dumps({"record": record, "target": target}, ensure_ascii=False)
            for record, target in zip(self.records, self.targets, strict=True)
        )
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "Part":
        if not path.is_file():
            raise MissingStageInputError(f"{path}: missing; run the prepare stage first")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return cls([row["record"] for row in rows], [row["target"] for row in rows])


def strata(targets: pd.Series, config: Config = config) -> pd.Series:
    """What the split keeps in proportion: the classes, or a number's quantile bins (at most
    TARGET_BINS, and no more than each part has rows: every bin has a row on both sides)."""
    if config.task == "classification":
        return targets
    rows = len(targets)
    holdout_rows = math.ceil(config.split.test_size * rows)  # as train_test_split counts them
    bins = max(1, min(TARGET_BINS, rows // 2, holdout_rows, rows - holdout_rows))
    return pd.qcut(targets.rank(method="first"), bins, labels=False)


def split_dataset(frame: pd.DataFrame, config: Config = config) -> tuple[Part, Part]:
    """Shuffled, stratified, seeded split of a loaded data set: train, then holdout."""
    records = to_records(frame[list(INPUT_FIELDS)])
    targets = frame[config.data.target]
    train_records, holdout_records, train_targets, holdout_targets = train_test_split(
        records,
        targets.tolist(),
        test_size=config.split.test_size,
        random_state=config.split.random_state,
        shuffle=True,
        stratify=strata(targets, config),
    )
    return Part(train_records, train_targets), Part(holdout_records, holdout_targets)


def prepare(
    config: Config = config, data_file: Path | None = None, out_dir: Path = PREPARED_DIR
) -> tuple[Part, Part]:
    """Stage 1: validate the data file, split it and write both parts with the data's identity."""
    data_file = data_file or DATASET_DIR / config.data.file
    logger.info("Loading {}", data_file)
    train_part, holdout_part = split_dataset(load_dataset(data_file, config.data), config)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_part.write(out_dir / "train.jsonl")
    holdout_part.write(out_dir / "holdout.jsonl")
    source = {"file": data_file.name, "sha256": sha256_of(data_file)}
    (out_dir / "source.json").write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    counts = len(train_part.targets), len(holdout_part.targets)
    logger.info("Split into {} rows to train on and {} held out", *counts)
    return train_part, holdout_part


def unseen_predictions(
    inputs: pd.DataFrame, targets: Sequence[float], config: Config = config
) -> npt.NDArray[np.float64]:
    """Each training row's prediction by a model fitted on the other folds: what the model
    makes of rows it never saw, as live records will be."""
    folds = KFold(INTERVAL_FOLDS, shuffle=True, random_state=config.split.random_state)
    predicted = cross_val_predict(build_pipeline(config), inputs, targets, cv=folds)
    return np.asarray(predicted, dtype=np.float64).ravel()


def calibrate_interval(
    targets: Sequence[float], unseen: npt.NDArray[np.float64], config: Config = config
) -> Interval:
    """A regression's conformal interval, without setting rows aside: the training rows'
    absolute residuals from their unseen predictions, and the k-th smallest of the n, with
    k = ceil((n + 1) * coverage), the finite-sample correction."""
    residuals = np.abs(np.asarray(targets, dtype=np.float64) - unseen)
    coverage, rows = config.model.interval_coverage, len(residuals)
    level = min(1.0, np.ceil((rows + 1) * coverage) / rows)
    half_width = float(np.quantile(residuals, level, method="inverted_cdf"))
    return Interval(coverage=coverage, half_width=half_width)


def train(
    config: Config = config,
    prepared_dir: Path = PREPARED_DIR,
    output_dir: Path = TRAINED_MODEL_DIR,
) -> ModelMetadata:
    """Stage 2: fit on the train part, score on the holdout, save the artifacts and metadata."""
    # Checked before any fitting: a wrong estimator fails in a second.
    spec, params = resolve_estimator(config.model, config.split.random_state, config.task)
    train_part = Part.read(prepared_dir / "train.jsonl")
    holdout_part = Part.read(prepared_dir / "holdout.jsonl")
    source_file = prepared_dir / "source.json"
    if not source_file.is_file():
        raise MissingStageInputError(f"{source_file}: missing; run the prepare stage first")
    source = json.loads(source_file.read_text(encoding="utf-8"))
    logger.info("Training {} on {} rows", config.model.estimator, len(train_part.targets))

    inputs = train_part.inputs(config)
    pipeline = build_pipeline(config).fit(inputs, train_part.targets)
    interval = None
    predicted = pipeline.predict(inputs).ravel().tolist()  # the predicted classes' shares
    if config.task == "regression":  # unseen rows' values: in-sample ones are too close
        unseen = unseen_predictions(inputs, train_part.targets, config)
        interval = calibrate_interval(train_part.targets, unseen, config)
        predicted = unseen.tolist()
    holdout_inputs = holdout_part.inputs(config)
    metrics = score(pipeline, holdout_inputs, holdout_part.targets, interval, config)
    profile = build_profile(model_features(train_part.records, config), predicted, config)
    logger.info("Holdout metrics: {}", metrics.model_dump())

    metadata = ModelMetadata(
        name=config.artifact.name,
        version=__version__,
        trained_at=datetime.now(UTC),
        task=config.task,
        estimator=config.model.estimator,
        params=params,
        target=config.data.target,
        classes=[str(name) for name in getattr(pipeline, "classes_", [])],
        interval=interval,
        data_file=source["file"],
        data_sha256=source["sha256"],
        python_version=platform.python_version(),
        libraries={name: distributions.version(name) for name in (*LIBRARIES, *spec.distributions)},
        n_train=len(train_part.targets),
        n_holdout=len(holdout_part.targets),
        metrics=metrics,
        input_fields=list(INPUT_FIELDS),
        features=FeatureLists(
            numeric=config.features.numeric, categorical=config.features.categorical
        ),
        profile=profile,
    )
    card = render_card(metadata, pipeline, holdout_inputs, holdout_part.targets, config)
    path = save_model(pipeline, to_onnx(pipeline, config), metadata, card, output_dir)
    logger.success("Saved model {} to {}", __version__, path)
    return metadata


def evaluate(
    config: Config = config,
    prepared_dir: Path = PREPARED_DIR,
    model_dir: Path = TRAINED_MODEL_DIR,
    reports_dir: Path = REPORTS_DIR,
) -> HoldoutMetrics:
    """Stage 3: the trained model's holdout metrics and plot data, for DVC to show and compare."""
    metadata = load_metadata(__version__, model_dir)
    pipeline = load_pipeline(__version__, model_dir)
    holdout = Part.read(prepared_dir / "holdout.jsonl")
    plots = reports_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    for old in plots.glob("*.csv"):  # a task's plots, when the task changed
        old.unlink()
    tables = plot_tables if config.task == "classification" else value_plot_tables
    for name, table in tables(pipeline, holdout.inputs(config), holdout.targets, config).items():
        table.to_csv(plots / name, index=False)
    metrics_file = reports_dir / "metrics.json"
    metrics_file.write_text(metadata.metrics.model_dump_json(indent=2) + "\n", encoding="utf-8")
    logger.success("Wrote {} and the plot data in {}", metrics_file, plots)
    return metadata.metrics


def plot_tables(
    pipeline: Any, inputs: pd.DataFrame, labels: Sequence[str], config: Config = config
) -> dict[str, pd.DataFrame]:
    """A classifier's plot data: ROC, calibration and confusion on the holdout. Two classes: the
    positive class's ROC curve and calibration. More: one-vs-rest ROC pooled over the classes,
    and the calibration of the most probable class."""
    probabilities = pipeline.predict_proba(inputs)
    classes = [str(name) for name in pipeline.classes_]
    truth = np.asarray(labels)
    positive = config.data.class_names[0]
    if len(classes) == 2:
        hits, scores = truth == positive, probabilities[:, classes.index(positive)]
    else:
        hits = (truth[:, None] == np.asarray(classes)[None, :]).ravel()
        scores = probabilities.ravel()
    calibration_hits, calibration_scores = calibration_inputs(
        truth, probabilities, classes, positive
    )
    fpr, tpr, _ = roc_curve(hits, scores)
    observed, expected = calibration_curve(
        calibration_hits, calibration_scores, n_bins=CALIBRATION_BINS
    )
    return {
        "roc.csv": pd.DataFrame({"fpr": fpr, "tpr": tpr}),
        "calibration.csv": pd.DataFrame({"predicted": expected, "observed": observed}),
        "confusion.csv": pd.DataFrame({"actual": truth, "predicted": pipeline.predict(inputs)}),
    }


def value_plot_tables(
    pipeline: Any, inputs: pd.DataFrame, targets: Sequence[float], config: Config = config
) -> dict[str, pd.DataFrame]:
    """A regression's plot data: each holdout row's actual and predicted value, and residual."""
    predicted = np.asarray(pipeline.predict(inputs), dtype=np.float64).ravel()
    actual = np.asarray(targets, dtype=np.float64)
    table = {"actual": actual, "predicted": predicted, "residual": actual - predicted}
    return {"predictions.csv": pd.DataFrame(table)}


class StaleModelError(ValueError):
    """The trained model is not what config.yml and the data would train now."""


def check(config: Config = config, model_dir: Path = TRAINED_MODEL_DIR) -> ModelMetadata:
    """Before a build: the trained model is this version's and fits config.yml and the data.

    The build packages the model the tests ran against; it never trains one of its own.
    """
    metadata = load_metadata(__version__, model_dir)
    _, params = resolve_estimator(config.model, config.split.random_state, config.task)
    features = FeatureLists(
        numeric=config.features.numeric, categorical=config.features.categorical
    )
    expected = {
        "task": (metadata.task, config.task),
        "estimator": (metadata.estimator, config.model.estimator),
        "params": (metadata.params, json.loads(json.dumps(params))),
        "target": (metadata.target, config.data.target),
        "classes": (sorted(metadata.classes), sorted(config.data.class_names)),
        "interval": (
            metadata.interval and metadata.interval.coverage,
            config.model.interval_coverage if config.task == "regression" else None,
        ),
        "features": (metadata.features, features),
        "data": (metadata.data_sha256, sha256_of(DATASET_DIR / config.data.file)),
    }
    if stale := [name for name, (trained, wanted) in expected.items() if trained != wanted]:
        raise StaleModelError(
            f"the trained model {__version__} has other {', '.join(stale)} than config.yml and "
            "the data give now; train it again (tox -e train, or test_package) before building"
        )
    logger.success("Trained model {} fits config.yml and the data", __version__)
    return metadata


def record_gate(
    gate: GateRecord | None,
    config: Config = config,
    prepared_dir: Path = PREPARED_DIR,
    model_dir: Path = TRAINED_MODEL_DIR,
) -> ModelMetadata:
    """Write the gate's decision (None: not gated) into the trained model's metadata and card,
    before the build."""
    metadata = load_metadata(__version__, model_dir).model_copy(update={"gate": gate})
    pipeline = load_pipeline(__version__, model_dir)
    holdout = Part.read(prepared_dir / "holdout.jsonl")
    card = render_card(metadata, pipeline, holdout.inputs(config), holdout.targets, config)
    save_metadata(metadata, card, model_dir)
    return metadata


STAGES = {"prepare": prepare, "train": train, "evaluate": evaluate}


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", nargs="?", choices=[*STAGES, "all", "check"], default="all")
    stage = parser.parse_args(arguments).stage
    logger.enable(__package__ or "")
    if stage == "check":
        try:
            check()
        except (StaleModelError, ModelNotTrainedError) as error:
            logger.error("No build: {}", error)
            sys.exit(1)
        return
    try:
        for name, run in STAGES.items():
            if stage in (name, "all"):
                run()
    except (ValueError, ModelNotTrainedError) as error:  # their messages say what to do
        logger.error("Training failed: {}", error)
        sys.exit(1)


if __name__ == "__main__":
    main()
