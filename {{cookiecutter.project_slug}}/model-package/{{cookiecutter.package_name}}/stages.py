"""Training as three stages, each a function with its own files: prepare -> train -> evaluate.

    python -m {{ cookiecutter.package_name }}.stages          # all three
    python -m {{ cookiecutter.package_name }}.stages prepare  # one
    python -m {{ cookiecutter.package_name }}.stages check    # before a build

prepare validates the data file and splits it into data/prepared/ (train.jsonl, holdout.jsonl and
source.json). train fits the pipeline on the train part, scores it on the holdout and writes the
versioned artifacts, their metadata and the model card into trained_models/, where the wheel picks
them up (tox -e gate adds its decision to the metadata and the card before the build). evaluate
writes reports/metrics.json and the plot data of reports/plots/ (ROC, calibration, confusion).
`tox -e train`, `tox -e test_package` and `dvc repro` run these functions; `tox -e build` only runs
check, which refuses a missing model or one that config.yml or the data no longer describe.
"""

import argparse
import json
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as distributions
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from loguru import logger
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve
from sklearn.model_selection import train_test_split

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
from .results import INPUT_FIELDS, FeatureLists, GateRecord, HoldoutMetrics, ModelMetadata

# Recorded in the metadata and the card: what trained the model and converted it to ONNX.
LIBRARIES = ("numpy", "pandas", "scikit-learn", "skl2onnx", "onnx", "onnxruntime", "pydantic")


class MissingStageInputError(ValueError):
    """A stage's input file is not there: an earlier stage has not run."""


@dataclass(frozen=True)
class Part:
    """One side of the split: records as the input schema validated them, and their classes."""

    records: list[dict[str, Any]]
    labels: list[str]

    def inputs(self, config: Config = config) -> pd.DataFrame:
        """The pipeline's input columns, built as serving builds them."""
        numeric, categorical = config.features.numeric, config.features.categorical
        return pd.DataFrame(model_inputs(to_columns(self.records), numeric, categorical))

    def write(self, path: Path) -> None:
        lines = (
            json.dumps({"record": record, "label": label}, ensure_ascii=False)
            for record, label in zip(self.records, self.labels, strict=True)
        )
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "Part":
        if not path.is_file():
            raise MissingStageInputError(f"{path}: missing; run the prepare stage first")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return cls([row["record"] for row in rows], [row["label"] for row in rows])


def split_dataset(frame: pd.DataFrame, config: Config = config) -> tuple[Part, Part]:
    """Shuffled, stratified, seeded split of a loaded data set: train, then holdout."""
    records = to_records(frame[list(INPUT_FIELDS)])
    labels = frame[config.data.target].tolist()
    train_records, holdout_records, train_labels, holdout_labels = train_test_split(
        records,
        labels,
        test_size=config.split.test_size,
        random_state=config.split.random_state,
        shuffle=True,
        stratify=labels,
    )
    return Part(train_records, train_labels), Part(holdout_records, holdout_labels)


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
    counts = len(train_part.labels), len(holdout_part.labels)
    logger.info("Split into {} rows to train on and {} held out", *counts)
    return train_part, holdout_part


def train(
    config: Config = config,
    prepared_dir: Path = PREPARED_DIR,
    output_dir: Path = TRAINED_MODEL_DIR,
) -> ModelMetadata:
    """Stage 2: fit on the train part, score on the holdout, save the artifacts and metadata."""
    spec, params = resolve_estimator(config.model, config.split.random_state)  # before fitting
    train_part = Part.read(prepared_dir / "train.jsonl")
    holdout_part = Part.read(prepared_dir / "holdout.jsonl")
    source_file = prepared_dir / "source.json"
    if not source_file.is_file():
        raise MissingStageInputError(f"{source_file}: missing; run the prepare stage first")
    source = json.loads(source_file.read_text(encoding="utf-8"))
    logger.info("Training {} on {} rows", config.model.estimator, len(train_part.labels))

    pipeline = build_pipeline(config).fit(train_part.inputs(config), train_part.labels)
    metrics = score(pipeline, holdout_part.inputs(config), holdout_part.labels, config)
    predicted = [str(label) for label in pipeline.predict(train_part.inputs(config))]
    profile = build_profile(model_features(train_part.records, config), predicted, config)
    logger.info("Holdout metrics: {}", metrics.model_dump())

    metadata = ModelMetadata(
        name=config.artifact.name,
        version=__version__,
        trained_at=datetime.now(UTC),
        estimator=config.model.estimator,
        params=params,
        target=config.data.target,
        classes=[str(name) for name in pipeline.classes_],
        data_file=source["file"],
        data_sha256=source["sha256"],
        python_version=platform.python_version(),
        libraries={name: distributions.version(name) for name in (*LIBRARIES, *spec.distributions)},
        n_train=len(train_part.labels),
        n_holdout=len(holdout_part.labels),
        metrics=metrics,
        input_fields=list(INPUT_FIELDS),
        features=FeatureLists(
            numeric=config.features.numeric, categorical=config.features.categorical
        ),
        profile=profile,
    )
    card = render_card(metadata, pipeline, holdout_part.inputs(config), holdout_part.labels, config)
    path = save_model(pipeline, to_onnx(pipeline, config), metadata, card, output_dir)
    logger.success("Saved model {} to {}", __version__, path)
    return metadata


def evaluate(
    config: Config = config,
    prepared_dir: Path = PREPARED_DIR,
    model_dir: Path = TRAINED_MODEL_DIR,
    reports_dir: Path = REPORTS_DIR,
) -> HoldoutMetrics:
    """Stage 3: the trained model's holdout metrics and plot data, for DVC to show and compare.

    Two classes: the positive class's ROC curve and calibration. More: one-vs-rest ROC pooled
    over the classes, and the calibration of the most probable class.
    """
    metadata = load_metadata(__version__, model_dir)
    pipeline = load_pipeline(__version__, model_dir)
    holdout = Part.read(prepared_dir / "holdout.jsonl")
    inputs = holdout.inputs(config)
    probabilities = pipeline.predict_proba(inputs)
    predicted = pipeline.predict(inputs)
    classes = [str(name) for name in pipeline.classes_]
    truth = np.asarray(holdout.labels)
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

    plots = reports_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"fpr": fpr, "tpr": tpr}).to_csv(plots / "roc.csv", index=False)
    pd.DataFrame({"predicted": expected, "observed": observed}).to_csv(
        plots / "calibration.csv", index=False
    )
    pd.DataFrame({"actual": truth, "predicted": predicted}).to_csv(
        plots / "confusion.csv", index=False
    )
    metrics_file = reports_dir / "metrics.json"
    metrics_file.write_text(metadata.metrics.model_dump_json(indent=2) + "\n", encoding="utf-8")
    logger.success("Wrote {} and the plot data in {}", metrics_file, plots)
    return metadata.metrics


class StaleModelError(ValueError):
    """The trained model is not what config.yml and the data would train now."""


def check(config: Config = config, model_dir: Path = TRAINED_MODEL_DIR) -> ModelMetadata:
    """Before a build: the trained model is this version's and fits config.yml and the data.

    The build packages the model the tests ran against; it never trains one of its own.
    """
    metadata = load_metadata(__version__, model_dir)
    _, params = resolve_estimator(config.model, config.split.random_state)
    features = FeatureLists(
        numeric=config.features.numeric, categorical=config.features.categorical
    )
    expected = {
        "estimator": (metadata.estimator, config.model.estimator),
        "params": (metadata.params, json.loads(json.dumps(params))),
        "target": (metadata.target, config.data.target),
        "classes": (sorted(metadata.classes), sorted(config.data.class_names)),
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
    card = render_card(metadata, pipeline, holdout.inputs(config), holdout.labels, config)
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
