from typing import Any

import pytest
from conftest import ClientFactory, Passenger
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import __version__ as model_version
from {{ cookiecutter.package_name }}.predict import make_prediction

from app import __version__

URL = "/api/v1/predict"


def test_predicts_a_batch(client: TestClient, passenger: dict[str, Any]) -> None:
    man = {**passenger, "name": "Smith, Mr. John", "sex": "male", "pclass": 3, "fare": 7.25}
    response = client.post(URL, json={"records": [passenger, man]})
    assert response.status_code == 200
    body = response.json()
    expected = make_prediction([passenger, man])
    assert [p["survival_probability"] for p in body["predictions"]] == pytest.approx(
        expected.probabilities, abs=1e-12
    )
    assert [p["label"] for p in body["predictions"]] == expected.labels == [1, 0]
    assert body["model_version"] == model_version
    assert body["api_version"] == __version__
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_request_id_is_taken_from_the_caller(client: TestClient, passenger: Passenger) -> None:
    response = client.post(URL, json={"records": [passenger]}, headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"


def test_unsafe_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["X-Request-ID"] != "bad id\twith spaces"
    assert len(response.headers["X-Request-ID"]) == 32


def test_optional_fields_may_be_null(client: TestClient, passenger: Passenger) -> None:
    record = {**passenger, "age": None, "fare": None, "cabin": None, "embarked": None}
    response = client.post(URL, json={"records": [record]})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"age": -1}, "age", "greater than or equal to 0"),
        ({"sex": "unknown"}, "sex", "Input should be 'female' or 'male'"),
        ({"pclass": "first"}, "pclass", "Input should be 1, 2 or 3"),
        ({"boat": "7"}, "boat", "Extra inputs are not permitted"),
        ({"name": ""}, "name", "at least 1 character"),
    ],
)
def test_invalid_record_names_index_and_field(
    client: TestClient, passenger: Passenger, change: Passenger, field: str, message: str
) -> None:
    response = client.post(URL, json={"records": [passenger, {**passenger, **change}]})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "invalid request"
    assert body["request_id"] == response.headers["X-Request-ID"]
    (error,) = body["errors"]
    assert (error["index"], error["field"]) == (1, field)
    assert message in error["message"]


def test_missing_field(client: TestClient, passenger: Passenger) -> None:
    del passenger["sex"]
    response = client.post(URL, json={"records": [passenger]})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"index": 0, "field": "sex", "message": "Field required"}]


def test_empty_batch_is_refused(client: TestClient) -> None:
    response = client.post(URL, json={"records": []})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records"


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", b'{"records": {"pclass": 1}}', b"[1, 2]", b'{"records": null}']
)
def test_malformed_bodies_are_422_not_500(client: TestClient, body: bytes) -> None:
    response = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"]


def test_batch_over_the_limit_is_413(make_client: ClientFactory, passenger: Passenger) -> None:
    client = make_client(max_batch_size=3)
    assert client.post(URL, json={"records": [passenger] * 3}).status_code == 200
    response = client.post(URL, json={"records": [passenger] * 4})
    assert response.status_code == 413
    assert "send at most 3 (MAX_BATCH_SIZE)" in response.json()["detail"]
