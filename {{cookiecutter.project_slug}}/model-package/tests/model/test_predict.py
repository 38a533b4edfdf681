"""The contract's make_prediction, on any model: aligned results, errors reported, never raised."""

import math
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import (
    CLASSES,
    EXAMPLE_RECORD,
    TASK,
    InputRecord,
    PredictionResult,
    __version__,
    load_model,
    make_prediction,
)
from {{ cookiecutter.package_name }}.data import Part
from {{ cookiecutter.package_name }}.persistence import load_pipeline
from {{ cookiecutter.package_name }}.strict_record import value_types

REQUIRED = [name for name, field in InputRecord.model_fields.items() if field.is_required()]
classifier_only = pytest.mark.skipif(TASK != "classification", reason="a classifier's answer")
regression_only = pytest.mark.skipif(TASK != "regression", reason="a regression's answer")


def answers(result: PredictionResult) -> list[Any]:
    """What the model predicted for each record: class names, or values."""
    return result.labels if TASK == "classification" else result.values


@classifier_only
def test_predicts_a_class_name_and_every_probability(example: dict[str, Any]) -> None:
    result = make_prediction([example])
    assert result.model_version == __version__
    assert result.errors == []
    assert (result.values, result.intervals) == ([], [])
    (label,) = result.labels
    (probabilities,) = result.probabilities
    assert label in CLASSES
    assert probabilities is not None
    assert list(probabilities) == list(CLASSES)
    assert math.isclose(sum(probabilities.values()), 1, abs_tol=1e-5)
    assert probabilities[label] == max(probabilities.values())


@regression_only
def test_predicts_a_value_inside_its_interval(example: dict[str, Any]) -> None:
    result = make_prediction([example])
    assert (result.model_version, result.errors) == (__version__, [])
    assert (result.labels, result.probabilities) == ([], [])
    (value,), (interval,) = result.values, result.intervals
    interval_of_the_model = load_model().interval
    assert value is not None
    assert interval is not None
    assert interval_of_the_model is not None
    half_width = interval_of_the_model.half_width
    assert interval == pytest.approx((value - half_width, value + half_width))


def test_serving_matches_the_reference_pipeline_on_the_holdout(holdout: Part) -> None:
    """make_prediction (ONNX Runtime) against the scikit-learn pipeline, whole holdout."""
    result = make_prediction(holdout.records)
    pipeline = load_pipeline()
    assert result.errors == []
    assert len(answers(result)) == len(holdout.targets) == load_model().n_holdout
    if TASK == "regression":
        expected = pipeline.predict(holdout.inputs())
        scale = max(1.0, float(abs(expected).max()))  # float32's rounding, relative
        assert result.values == pytest.approx(expected.tolist(), rel=0, abs=1e-5 * scale)
        return
    expected = pd.DataFrame(pipeline.predict_proba(holdout.inputs()), columns=pipeline.classes_)
    served = pd.DataFrame(result.probabilities)[list(pipeline.classes_)]
    assert served.to_numpy() == pytest.approx(expected.to_numpy(), rel=0, abs=1e-5)


def test_instances_and_dicts_give_the_same_result(example: dict[str, Any]) -> None:
    assert make_prediction([InputRecord(**example)]) == make_prediction([example])


def test_invalid_records_are_reported_not_raised(example: dict[str, Any]) -> None:
    batch: list[Any] = [example, "not a record", {**example, "no_such_field": 1}]
    expected = [(1, ""), (2, "no_such_field")]
    for name in REQUIRED[:1]:
        batch.append({key: value for key, value in example.items() if key != name})
        expected.append((3, name))
    batch.append(example)
    result = make_prediction(batch)
    assert [(error.index, error.field) for error in result.errors] == expected
    bad = len(expected)
    assert answers(result)[0] == answers(result)[-1] is not None
    assert answers(result)[1 : bad + 1] == [None] * bad
    details = result.probabilities if TASK == "classification" else result.intervals
    assert details[1 : bad + 1] == [None] * bad


def test_optional_fields_may_be_missing(example: dict[str, Any]) -> None:
    minimal = {key: example[key] for key in REQUIRED}
    result = make_prediction([minimal])
    assert result.errors == []
    assert answers(result)[0] is not None


def test_empty_batch() -> None:
    result = make_prediction([])
    lists = (result.labels, result.probabilities, result.values, result.intervals, result.errors)
    assert lists == ([], [], [], [], [])


def test_the_example_record_is_valid() -> None:
    InputRecord.model_validate(EXAMPLE_RECORD)


def test_no_quiet_coercion_between_booleans_numbers_and_text(example: dict[str, Any]) -> None:
    """The schema is strict: `true` or "3" is not a number, 3 is not text; an int is a float."""
    properties: dict[str, dict[str, Any]] = InputRecord.model_json_schema()["properties"]
    kinds = {
        name: {option.get("type") for option in spec.get("anyOf", [spec]) if "enum" not in option}
        for name, spec in properties.items()
    }
    bad: list[tuple[str, Any]] = []
    for name, types in kinds.items():
        if types & {"number", "integer"}:
            bad += [(name, True), (name, "3")]
        if "string" in types:
            bad.append((name, 3))
    result = make_prediction([{**example, name: value} for name, value in bad])
    assert sorted((error.index, error.field) for error in result.errors) == [
        (index, name) for index, (name, _) in enumerate(bad)
    ]
    floats = [name for name, types in kinds.items() if "number" in types]
    as_ints = {name: int(example[name]) for name in floats if example.get(name) is not None}
    assert make_prediction([{**example, **as_ints}]).errors == []


def int_fields(example: dict[str, Any]) -> list[str]:
    """The record's fields of whole numbers (int, or a Literal of ints) that the example fills."""
    return [
        name
        for name, field in InputRecord.model_fields.items()
        if value_types(field.annotation) - {type(None)} == {int} and example.get(name) is not None
    ]


def test_an_int_field_takes_a_whole_number_sent_as_a_float(example: dict[str, Any]) -> None:
    """A client's float column sends 8.0 for 8: an int field takes it as 8, and refuses 8.5."""
    names = int_fields(example)
    if not names:
        pytest.skip("the input schema has no int field")
    as_floats = {name: float(example[name]) for name in names}
    assert make_prediction([{**example, **as_floats}]).errors == []
    record = InputRecord.model_validate({**example, **as_floats})
    assert {name: getattr(record, name) for name in names} == {n: example[n] for n in names}
    assert all(type(getattr(record, name)) is int for name in names)
    halves = make_prediction([{**example, name: example[name] + 0.5} for name in names])
    assert [(error.index, error.field) for error in halves.errors] == list(enumerate(names))


def test_the_json_schema_of_an_int_field_is_an_integer(example: dict[str, Any]) -> None:
    """The strictness lives in the validator alone: the published schema is the plain one."""
    properties: dict[str, dict[str, Any]] = InputRecord.model_json_schema()["properties"]
    for name in int_fields(example):
        options = properties[name].get("anyOf", [properties[name]])
        assert {option.get("type") for option in options} - {"null"} == {"integer"}, name
