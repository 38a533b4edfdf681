from typing import Any

import pytest
from conftest import (
    FIELDS,
    REQUIRED,
    ClientFactory,
    Record,
    bounded_number,
    field_options,
    nullable,
)
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from {{ cookiecutter.package_name }} import CLASSES, make_prediction
from {{ cookiecutter.package_name }} import __version__ as model_version

from app import __version__
from app.answers import CLASSIFICATION, answer_columns
from app.schemas import PredictionResponse

URL = "/api/v1/predict"


def test_predicts_a_batch(client: TestClient, example: Record) -> None:
    minimal = {name: example[name] for name in REQUIRED}
    response = client.post(URL, json={"records": [example, minimal]})
    assert response.status_code == 200
    body = response.json()
    # The route writes its JSON itself: exactly the documented shape, no field more or less.
    TypeAdapter(PredictionResponse).validate_json(response.content, strict=True)
    assert set(body) == PredictionResponse.__required_keys__
    expected = answer_columns(make_prediction([example, minimal]))
    for name, values in expected.items():
        assert [prediction[name] for prediction in body["predictions"]] == values, name
    for prediction in body["predictions"]:
        assert set(prediction) == {"prediction_id", *expected}
        if CLASSIFICATION:
            assert prediction["label"] in CLASSES
            assert list(prediction["probabilities"]) == list(CLASSES)
        else:
            assert prediction["lower"] < prediction["value"] < prediction["upper"]
    assert body["model_version"] == model_version
    assert body["api_version"] == __version__
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_request_id_is_taken_from_the_caller(client: TestClient, example: Record) -> None:
    response = client.post(URL, json={"records": [example]}, headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"


def test_unsafe_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["X-Request-ID"] != "bad id\twith spaces"
    assert len(response.headers["X-Request-ID"]) == 32


def test_optional_fields_may_be_null(client: TestClient, example: Record) -> None:
    record = {name: None if nullable(name) else value for name, value in example.items()}
    response = client.post(URL, json={"records": [record]})
    assert response.status_code == 200


def invalid_changes() -> list[tuple[dict[str, Any], str, str]]:
    """(change to the example, field named in the error, part of the message), from the schema."""
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"no_such_field": "7"}, "no_such_field", "Extra inputs are not permitted")
    ]
    if bounded := bounded_number():
        name, value = bounded
        cases.append(({name: value}, name, "greater than or equal to"))
    for name in REQUIRED:
        options = field_options(name)
        if any("enum" in option for option in options):
            cases.append(({name: "not one of the choices"}, name, "Input should be"))
            break
    for name in REQUIRED:
        options = field_options(name)
        if any(option.get("type") == "string" and option.get("minLength") for option in options):
            cases.append(({name: ""}, name, "at least"))
            break
    # Strict input: no quiet coercion between booleans, numbers and text.
    for name in FIELDS:
        kinds = {option.get("type") for option in field_options(name) if "enum" not in option}
        if kinds & {"number", "integer"}:
            cases.append(({name: True}, name, "Input should be a valid"))
            cases.append(({name: "3"}, name, "Input should be a valid"))
            break
    for name in FIELDS:
        kinds = {option.get("type") for option in field_options(name) if "enum" not in option}
        if "string" in kinds:
            cases.append(({name: 3}, name, "Input should be a valid string"))
            break
    return cases


@pytest.mark.parametrize(("change", "field", "message"), invalid_changes())
def test_invalid_record_names_index_and_field(
    client: TestClient, example: Record, change: Record, field: str, message: str
) -> None:
    response = client.post(URL, json={"records": [example, {**example, **change}]})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "invalid request"
    assert body["request_id"] == response.headers["X-Request-ID"]
    (error,) = body["errors"]
    assert (error["index"], error["field"]) == (1, field)
    assert message in error["message"]


@pytest.mark.parametrize("field", REQUIRED)
def test_missing_field(client: TestClient, example: Record, field: str) -> None:
    del example[field]
    response = client.post(URL, json={"records": [example]})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"index": 0, "field": field, "message": "Field required"}]


def test_empty_batch_is_refused(client: TestClient) -> None:
    response = client.post(URL, json={"records": []})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records"


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", b'{"records": {"a": 1}}', b"[1, 2]", b'{"records": null}']
)
def test_malformed_bodies_are_422_not_500(client: TestClient, body: bytes) -> None:
    response = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"]


def test_batch_over_the_limit_is_413(make_client: ClientFactory, example: Record) -> None:
    client = make_client(max_batch_size=3)
    assert client.post(URL, json={"records": [example] * 3}).status_code == 200
    response = client.post(URL, json={"records": [example] * 4})
    assert response.status_code == 413
    assert "send at most 3 (MAX_BATCH_SIZE)" in response.json()["detail"]
