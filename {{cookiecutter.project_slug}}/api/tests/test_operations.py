import json

import pytest
from conftest import ClientFactory, Record
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import (
    DISTRIBUTION,
    EXAMPLE_RECORD,
    ModelNotTrainedError,
    load_card,
    load_model,
    make_prediction,
)
from {{ cookiecutter.package_name }} import __version__ as model_version

from app import __version__
from app import predictor as predictor_module
from app.metrics import binned
from bench.servers import API_ROOT


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "api_version": __version__,
        "model_version": model_version,
        "commit": "unknown",
    }


def test_ready_runs_the_model(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    expected = {"status": "ready", "model_version": model_version, "reason": None}
    assert response.json() == {**expected, "challenger": None}


def test_not_ready_when_the_model_cannot_load(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_trained() -> None:
        raise ModelNotTrainedError("no trained model for this version")

    monkeypatch.setattr(predictor_module, "load_model", not_trained)
    client = make_client()
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["reason"] == "ModelNotTrainedError: no trained model for this version"
    assert client.get("/health").status_code == 200
    for answer in (
        client.get("/api/v1/model"),
        client.get("/api/v1/model/card"),
        client.post("/api/v1/predict", json={"records": [EXAMPLE_RECORD]}),
    ):
        assert answer.status_code == 503
        assert answer.json()["detail"] == body["reason"]


def test_model_info_comes_from_the_package(client: TestClient) -> None:
    response = client.get("/api/v1/model")
    assert response.status_code == 200
    body = response.json()
    assert body["distribution"] == DISTRIBUTION
    metadata = load_model().model_dump(mode="json")
    assert {key: body[key] for key in metadata} == metadata
    assert body["version"] == model_version


def test_model_card_comes_from_the_package(client: TestClient) -> None:
    page = client.get("/api/v1/model/card")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text == load_card("html")
    text = client.get("/api/v1/model/card", params={"format": "markdown"})
    assert text.headers["content-type"] == "text/markdown; charset=utf-8"
    assert text.text == load_card("markdown")
    assert text.text.startswith("# Model card: ")
    wrong = client.get("/api/v1/model/card", params={"format": "pdf"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "query.format"


def test_metrics_count_requests_and_predictions(client: TestClient, example: Record) -> None:
    client.post("/api/v1/predict", json={"records": [example, example]})
    client.post("/api/v1/predict", json={"records": []})
    text = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/api/v1/predict",status="200"} 1.0' in text
    assert 'http_requests_total{method="POST",route="/api/v1/predict",status="422"} 1.0' in text
    assert (
        'http_request_duration_seconds_count{method="POST",route="/api/v1/predict",status="200"}'
        in text
    )
    version_label = f'model_version="{model_version}"'
    result = make_prediction([example])
    (label,) = result.labels or binned([value or 0.0 for value in result.values])
    assert "predictions_total{" + f'label="{label}",{version_label}' + "} 2.0" in text
    assert "model_info{" + version_label + "} 1.0" in text


def test_unknown_route_is_labelled_unmatched(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404
    assert 'route="unmatched",status="404"' in client.get("/metrics").text


def test_openapi_shows_a_real_example(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    request = schema["components"]["schemas"]["PredictionRequest"]
    example = request["properties"]["records"]["examples"][0][0]
    assert example == json.loads(json.dumps(EXAMPLE_RECORD))
    assert client.get("/docs").status_code == 200


def test_the_install_script_names_the_packages_distribution() -> None:
    """scripts/install.py runs before the package is installed, so it names the distribution
    itself: the same name as the package's."""
    script = (API_ROOT / "scripts" / "install.py").read_text(encoding="utf-8")
    assert f"DISTRIBUTION = {DISTRIBUTION!r}" in script.replace('"', "'")
