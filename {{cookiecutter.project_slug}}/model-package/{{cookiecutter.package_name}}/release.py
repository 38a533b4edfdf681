"""What a release checks and records about the trained model.

Before a build, `check`: the model is this version's and still fits config.yml and the data. At the
promotion gate (scripts/gate.py, which fetches the published model and scores the holdout with
both): whether two models' answers are one model's (`largest_difference`), their metrics on the
holdout rows both scored (`shared_metrics`), each gated metric's verdict (`gate_comparisons`), and
the decision written into the metadata and card (`record_gate`).
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger

from ._version import __version__
from .card import render_card
from .config import DATASET_DIR, LOGGED_FILE, PREPARED_DIR, TRAINED_MODEL_DIR, Config, config
from .data import Part, sha256_of
from .estimators import resolve_estimator
from .metrics import holdout_metrics
from .persistence import load_metadata, load_pipeline, save_metadata
from .results import (
    FeatureLists,
    GateComparison,
    GateRecord,
    HoldoutMetrics,
    ModelMetadata,
    RegressionMetrics,
)
from .scores import regression_scores

# A model's answers for each holdout record: class probabilities in one order, or a regression's
# value and its interval's ends; None for a record the model refused.
Answers = Sequence[Sequence[float] | None]


class StaleModelError(ValueError):
    """The trained model is not what config.yml and the data would train now."""


def logged_sha256(folder: Path = DATASET_DIR) -> str | None:
    """The harvest's sha256 (logged.py), or None when there is none."""
    path = folder / LOGGED_FILE
    return sha256_of(path) if path.is_file() else None


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
        "logged rows": (metadata.logged and metadata.logged.sha256, logged_sha256()),
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


def largest_difference(published: Answers, candidate: Answers) -> float:
    """The largest difference between two models' answers, relative to their size (at least 1):
    within about 1e-5 (ONNX computes in float32) they are one model; infinite when one refused a
    record the other answered."""
    return max(
        (
            max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(one, other, strict=True))
            if one and other
            else float("inf")
            for one, other in zip(published, candidate, strict=True)
            if one or other
        ),
        default=0.0,
    )


def shared_metrics(
    published: Answers,
    candidate: Answers,
    targets: Sequence[Any],
    classes: Sequence[str],
    config: Config = config,
) -> tuple[list[int], HoldoutMetrics, HoldoutMetrics]:
    """The holdout rows both models answered, and each model's metrics on them, by the same code
    as training's (no classes: a regression's value and interval)."""
    pairs = enumerate(zip(published, candidate, strict=True))
    both = [index for index, (one, other) in pairs if one is not None and other is not None]
    if not both:
        raise ValueError("the published model refused every holdout record")

    def measured(answers: Answers) -> HoldoutMetrics:
        matrix = np.asarray([answers[index] for index in both], dtype=np.float64)
        truth = [targets[index] for index in both]
        if classes:
            return holdout_metrics(truth, matrix, classes, config)
        return RegressionMetrics(**regression_scores(truth, *matrix.T))

    return both, measured(published), measured(candidate)


def gate_comparisons(
    published: HoldoutMetrics, candidate: HoldoutMetrics, config: Config = config
) -> list[GateComparison]:
    """The promotion gate, metric by metric of config.yml's gate section: the candidate passes a
    metric when it is worse than the published model by at most that metric's tolerance."""
    old, new = published.model_dump(), candidate.model_dump()
    return [
        GateComparison(
            metric=metric,
            published=old[metric],
            candidate=new[metric],
            tolerance=tolerance,
            passed=config.gate.passes(metric, old[metric], new[metric]),
        )
        for metric, tolerance in config.gate.metrics.items()
    ]


def gate_table(
    versions: tuple[str, str],
    published: HoldoutMetrics,
    candidate: HoldoutMetrics,
    rows: tuple[int, int],
    hashes: tuple[str, str],
    config: Config = config,
    logged: tuple[str | None, str | None] = (None, None),
) -> str:
    """Both models' holdout metrics on the rows both scored (`rows`: those, and all), the gated
    ones with their tolerance and verdict, and whether the two trained on the same data: the
    data file's sha256 (`hashes`) and the logged rows' (`logged`, None without any)."""
    old, new = published.model_dump(), candidate.model_dump()
    tolerances = config.gate.metrics
    width = max(len(metric) for metric in old) + 2
    lines = [f"on {rows[0]} of {rows[1]} holdout rows", ""]
    lines.append(f"{'metric':<{width}}{versions[0]:>12}{versions[1]:>12}{'change':>10}  tolerance")
    for metric in old:
        verdict = "not gated"
        if metric in tolerances:
            passes = config.gate.passes(metric, old[metric], new[metric])
            verdict = f"{tolerances[metric]:<10g} {'ok' if passes else 'WORSE'}"
        change = new[metric] - old[metric]
        figures = f"{old[metric]:>12.4f}{new[metric]:>12.4f}{change:>+10.4f}"
        lines.append(f"{metric:<{width}}{figures}  {verdict}")
    same = hashes[0] == hashes[1] and logged[0] == logged[1]
    same_data = "same training data" if same else "OTHER TRAINING DATA"
    lines.append(f"{'data sha256':<{width}}{hashes[0][:10]:>12}{hashes[1][:10]:>12}  {same_data}")
    if any(logged):
        shown = [(digest or "none")[:10] for digest in logged]
        lines.append(f"{'logged sha256':<{width}}{shown[0]:>12}{shown[1]:>12}")
    return "\n".join(lines) + "\n"
