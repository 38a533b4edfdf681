"""The promotion gate's comparison (release.py), on the trained model's own holdout answers."""

import math
import re

import pytest

from {{ cookiecutter.package_name }} import CLASSES, load_model, make_prediction
from {{ cookiecutter.package_name }}.config import config
from {{ cookiecutter.package_name }}.data import Part
from {{ cookiecutter.package_name }}.release import (
    Answers,
    gate_table,
    largest_difference,
    shared_metrics,
)


def holdout_answers(holdout: Part) -> list[list[float] | None]:
    """The installed model's answers as the gate reads them: probabilities in CLASSES order, or
    a value and its interval's ends."""
    result = make_prediction(holdout.records)
    if CLASSES:
        rows = result.probabilities
        return [None if row is None else [row[name] for name in CLASSES] for row in rows]
    pairs = zip(result.values, result.intervals, strict=True)
    return [None if value is None or ends is None else [value, *ends] for value, ends in pairs]


def test_one_model_differs_by_nothing_and_a_refusal_by_everything() -> None:
    answers: Answers = [[0.25, 0.75], [1500.0, 1400.0, 1600.0]]
    assert largest_difference(answers, answers) == 0.0
    nudged = [[0.25, 0.75], [1500.015, 1400.0, 1600.0]]
    assert largest_difference(answers, nudged) == pytest.approx(1e-5)  # relative to 1500
    assert largest_difference([[0.25, 0.75]], [[0.2500001, 0.75]]) == pytest.approx(1e-7)
    assert largest_difference([None, [0.5, 0.5]], [None, [0.5, 0.5]]) == 0.0
    assert math.isinf(largest_difference([None], [[0.5, 0.5]]))


def test_shared_metrics_are_training_s_on_the_rows_both_scored(holdout: Part) -> None:
    answers = holdout_answers(holdout)
    recorded = load_model().metrics.model_dump()
    both, published, candidate = shared_metrics(answers, answers, holdout.targets, CLASSES)
    assert both == list(range(len(answers)))
    assert published == candidate
    for metric, value in candidate.model_dump().items():  # ONNX against scikit-learn at training
        assert value == pytest.approx(recorded[metric], rel=1e-4, abs=1e-6), metric

    refused = [None, *answers[1:]]
    both, published, candidate = shared_metrics(refused, answers, holdout.targets, CLASSES)
    assert both == list(range(1, len(answers)))
    assert published == candidate
    with pytest.raises(ValueError, match="refused every holdout record"):
        shared_metrics([None] * len(answers), answers, holdout.targets, CLASSES)


def test_the_table_names_each_verdict_and_other_training_data(holdout: Part) -> None:
    answers = holdout_answers(holdout)
    _, published, _ = shared_metrics(answers, answers, holdout.targets, CLASSES)
    metric, tolerance = next(iter(config.gate.metrics.items()))
    worse = published.model_dump()[metric] + (3 * tolerance + 0.1) * (
        1 if config.gate.worse_by(metric, 0.0, 1.0) > 0 else -1
    )
    candidate = published.model_copy(update={metric: worse})
    rows = (len(answers) - 1, len(answers))
    table = gate_table(("0.1.0", "0.2.0"), published, candidate, rows, ("a" * 64, "b" * 64))
    line = next(line for line in table.splitlines() if line.startswith(metric + " "))
    assert line.endswith("WORSE"), table
    assert f"on {rows[0]} of {rows[1]} holdout rows" in table
    assert "OTHER TRAINING DATA" in table
    same = gate_table(("0.1.0", "0.2.0"), published, published, rows, ("a" * 64, "a" * 64))
    assert "WORSE" not in same
    assert "same training data" in same
    same_file = ("a" * 64, "a" * 64)
    retrained = gate_table(
        ("0.1.0", "0.2.0"), published, published, rows, same_file, logged=(None, "c" * 64)
    )
    assert "OTHER TRAINING DATA" in retrained
    assert re.search(r"^logged sha256\s+none\s+cccccccccc$", retrained, re.MULTILINE), retrained
    if ungated := [name for name in published.model_dump() if name not in config.gate.metrics]:
        assert f"{ungated[0]} " in same
        assert "not gated" in same
