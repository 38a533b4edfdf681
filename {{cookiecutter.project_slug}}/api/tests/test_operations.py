import pytest
from conftest import ClientFactory, Passenger
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import __version__ as model_version
from {{ cookiecutter.package_name }}.persistence import load_metadata, load_session

from app import __version__
from app import predictor as predictor_module


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "api_version": __version__,
        "model_version": model_version,
    }


def test_ready_runs_the_model(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "model_version": model_version, "reason": None}


def test_not_ready_when_the_model_cannot_load(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ask for a version that has no artifact: the real loader fails the real way.
    monkeypatch.setattr(predictor_module, "load_session", lambda: load_session("0.0.0-absent"))
    client = make_client()
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "ModelNotTrainedError" in body["reason"]
    assert client.get("/health").status_code == 200
    assert client.get("/api/v1/model").status_code == 503


def test_model_info_comes_from_the_package(client: TestClient) -> None:
    response = client.get("/api/v1/model")
    assert response.status_code == 200
    body = response.json()
    assert body["distribution"] == {{ cookiecutter.distribution_name | tojson }}
    metadata = load_metadata().model_dump(mode="json")
    assert {key: body[key] for key in metadata} == metadata
    assert body["version"] == model_version
    assert body["metrics"]["roc_auc"] >= 0.84


def test_metrics_count_requests_and_predictions(client: TestClient, passenger: Passenger) -> None:
    client.post("/api/v1/predict", json={"records": [passenger, passenger]})
    client.post("/api/v1/predict", json={"records": []})
    text = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/api/v1/predict",status="200"} 1.0' in text
    assert 'http_requests_total{method="POST",route="/api/v1/predict",status="422"} 1.0' in text
    assert (
        'http_request_duration_seconds_count{method="POST",route="/api/v1/predict",status="200"}'
        in text
    )
    version_label = f'model_version="{model_version}"'
    assert 'predictions_total{label="1",' + version_label + "} 2.0" in text
    assert "model_info{" + version_label + "} 1.0" in text


def test_unknown_route_is_labelled_unmatched(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404
    assert 'route="unmatched",status="404"' in client.get("/metrics").text


def test_openapi_shows_a_real_example(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    request = schema["components"]["schemas"]["PredictionRequest"]
    example = request["properties"]["records"]["examples"][0][0]
    assert example["name"] == "Allen, Miss. Elisabeth Walton"
    assert client.get("/docs").status_code == 200
