"""Train the model on the configured data and write the versioned artifact with its metadata.

Run it as `python -m {{ cookiecutter.package_name }}.train_pipeline` (or `tox -e train`).
"""

import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sklearn
from loguru import logger
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from ._version import __version__
from .config import DATASET_DIR, TRAINED_MODEL_DIR, Config, config
from .data import load_dataset, sha256_of, to_records
from .persistence import save_model
from .pipeline import build_pipeline, resolve_estimator, to_onnx
from .predict import model_inputs
from .schemas import INPUT_FIELDS, FeatureLists, HoldoutMetrics, ModelMetadata

Split = tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]


def split_dataset(frame: pd.DataFrame, config: Config) -> Split:
    """Shuffled, stratified, seeded split into model inputs and labels: train, then holdout."""
    records = to_records(frame[list(INPUT_FIELDS)])
    columns = model_inputs(records, config.features.numeric, config.features.categorical)
    inputs = pd.DataFrame(columns, index=frame.index)
    labels = frame[config.data.target]
    x_train, x_holdout, y_train, y_holdout = train_test_split(
        inputs,
        labels,
        test_size=config.split.test_size,
        random_state=config.split.random_state,
        shuffle=True,
        stratify=labels,
    )
    return x_train, x_holdout, y_train, y_holdout


def evaluate(
    pipeline: Pipeline, inputs: pd.DataFrame, labels: pd.Series, config: Config = config
) -> HoldoutMetrics:
    """Holdout scores: of the positive class (listed first) for two classes, else macro averages."""
    classes = list(pipeline.classes_)
    averaged: dict[str, Any]
    probabilities = pipeline.predict_proba(inputs)
    predicted = pipeline.predict(inputs)
    if len(classes) == 2:
        positive = config.data.class_names[0]
        scores = probabilities[:, classes.index(positive)]
        roc_auc = roc_auc_score(labels == positive, scores)
        averaged = {"average": "binary", "pos_label": positive}
    else:
        roc_auc = roc_auc_score(labels, probabilities, multi_class="ovr", labels=classes)
        averaged = {"average": "macro", "labels": classes}
    return HoldoutMetrics(
        accuracy=accuracy_score(labels, predicted),
        roc_auc=roc_auc,
        precision=precision_score(labels, predicted, zero_division=0, **averaged),
        recall=recall_score(labels, predicted, zero_division=0, **averaged),
        f1=f1_score(labels, predicted, zero_division=0, **averaged),
        log_loss=log_loss(labels, probabilities, labels=classes),
    )


def train(
    config: Config = config,
    data_file: Path | None = None,
    output_dir: Path = TRAINED_MODEL_DIR,
) -> ModelMetadata:
    """Fit, evaluate on the holdout, save; returns the metadata written beside the artifact."""
    data_file = data_file or DATASET_DIR / config.data.file
    _, params = resolve_estimator(config.model, config.split.random_state)  # fail before loading
    logger.info("Loading {}", data_file)
    frame = load_dataset(data_file, config.data)
    x_train, x_holdout, y_train, y_holdout = split_dataset(frame, config)
    estimator = config.model.estimator
    logger.info("Training {} on {} rows, holding out {}", estimator, len(x_train), len(x_holdout))

    pipeline = build_pipeline(config).fit(x_train, y_train)
    metrics = evaluate(pipeline, x_holdout, y_holdout, config)
    logger.info("Holdout metrics: {}", metrics.model_dump())

    metadata = ModelMetadata(
        name=config.artifact.name,
        version=__version__,
        trained_at=datetime.now(UTC),
        estimator=config.model.estimator,
        params=params,
        target=config.data.target,
        classes=[str(name) for name in pipeline.classes_],
        data_file=data_file.name,
        data_sha256=sha256_of(data_file),
        python_version=platform.python_version(),
        sklearn_version=sklearn.__version__,
        n_train=len(x_train),
        n_holdout=len(x_holdout),
        metrics=metrics,
        input_fields=list(INPUT_FIELDS),
        features=FeatureLists(
            numeric=config.features.numeric, categorical=config.features.categorical
        ),
    )
    path = save_model(pipeline, to_onnx(pipeline, config), metadata, output_dir)
    logger.success("Saved model {} to {}", __version__, path)
    return metadata


def main() -> None:
    logger.enable(__package__ or "")
    try:
        train()
    except ValueError as error:  # data and config errors carry a complete message
        logger.error("Training failed: {}", error)
        sys.exit(1)


if __name__ == "__main__":
    main()
