"""Training as three stages, each a function with its own files: prepare -> train -> evaluate.

    python -m {{ cookiecutter.package_name }}.stages          # all three
    python -m {{ cookiecutter.package_name }}.stages prepare  # one
    python -m {{ cookiecutter.package_name }}.stages check    # before a build

prepare validates the data file, adds the service's logged rows if the harvest wrote any
(logged.py), and splits them into data/prepared/ (train.jsonl, holdout.jsonl and source.json).
train fits the pipeline on the train part, scores it on the holdout and writes the versioned
artifacts, their metadata and the model card into trained_models/, where the wheel picks
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
from datetime import UTC, datetime
from importlib import metadata as distributions
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from loguru import logger
from sklearn.model_selection import KFold, cross_val_predict, train_test_split

from ._version import __version__
from .card import render_card
from .config import (
    DATASET_DIR,
    PREPARED_DIR,
    REPORTS_DIR,
    TRAINED_MODEL_DIR,
    Config,
    config,
)
from .data import (
    DataValidationError,
    MissingStageInputError,
    Part,
    load_dataset,
    sha256_of,
    to_records,
)
from .drift import build_profile, model_features
from .estimators import build_pipeline, resolve_estimator, to_onnx
from .logged import combine, load_logged, summarise
from .metrics import plot_tables, score, value_plot_tables
from .persistence import (
    ModelNotTrainedError,
    load_metadata,
    load_pipeline,
    save_model,
)
from .release import StaleModelError, check
from .results import (
    INPUT_FIELDS,
    FeatureLists,
    HoldoutMetrics,
    Interval,
    LoggedData,
    ModelMetadata,
)

# Recorded in the metadata and the card: what trained the model and converted it to ONNX.
LIBRARIES = ("numpy", "pandas", "scikit-learn", "skl2onnx", "onnx", "onnxruntime", "pydantic")
# A regression's split is stratified on this many quantile bins of the target, and its interval
# is calibrated on out-of-fold residuals of this many folds.
TARGET_BINS = 10
INTERVAL_FOLDS = 5


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
    """Train, then holdout: a seeded draw stratified on the target, or (split.holdout: newest)
    the last test_size share of the rows, in the order they come."""
    records = to_records(frame[list(INPUT_FIELDS)])
    targets = frame[config.data.target]
    if config.split.holdout == "newest":
        start = len(records) - math.ceil(config.split.test_size * len(records))
        newest = targets.iloc[start:]
        if config.task == "classification" and newest.nunique() < 2:
            raise DataValidationError(
                f"the newest {len(newest)} rows (split.holdout: newest) are all of the class "
                f"{newest.iloc[0]!r}: no metric can compare models on them; use holdout: random"
            )
        return (
            Part(records[:start], targets.iloc[:start].tolist()),
            Part(records[start:], newest.tolist()),
        )
    train_records, holdout_records, train_targets, holdout_targets = train_test_split(
        records,
        targets.tolist(),
        test_size=config.split.test_size,
        random_state=config.split.random_state,
        shuffle=True,
        stratify=strata(targets, config),
    )
    return Part(train_records, train_targets), Part(holdout_records, holdout_targets)


def training_rows(
    data_file: Path, config: Config = config, logged_dir: Path = DATASET_DIR
) -> tuple[pd.DataFrame, LoggedData | None]:
    """The original data, then the logged rows config.yml's `logged` rule keeps (logged.py)."""
    original = load_dataset(data_file, config.data)
    logged = load_logged(config, logged_dir)
    if logged is None:
        return original, None
    rows, kept = combine(original, logged, config)
    summary = summarise(original, logged, kept, config, logged_dir)
    logger.info(
        "Adding {} logged rows ({} left out by config.yml's rule)",
        summary.rows,
        summary.cut_by_rule,
    )
    for warning in summary.warnings:
        logger.warning("Logged rows: {}", warning)
    return rows, summary


def prepare(
    config: Config = config, data_file: Path | None = None, out_dir: Path = PREPARED_DIR
) -> tuple[Part, Part]:
    """Stage 1: validate the data (and any logged rows), split it and write both parts with the
    data's identity."""
    data_file = data_file or DATASET_DIR / config.data.file
    logger.info("Loading {}", data_file)
    rows, logged = training_rows(data_file, config, data_file.parent)
    train_part, holdout_part = split_dataset(rows, config)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_part.write(out_dir / "train.jsonl")
    holdout_part.write(out_dir / "holdout.jsonl")
    source = {
        "file": data_file.name,
        "sha256": sha256_of(data_file),
        "logged": logged.model_dump(mode="json") if logged else None,
    }
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
        logged=source.get("logged"),
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
