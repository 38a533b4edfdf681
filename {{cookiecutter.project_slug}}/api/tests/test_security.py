import pytest
from conftest import ClientFactory, Record
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import Settings, settings_from_environment

KEY = "a-long-enough-test-key"


@pytest.fixture
def protected(make_client: ClientFactory) -> TestClient:
    return make_client(api_key=KEY)


def test_api_is_open_without_a_configured_key(client: TestClient) -> None:
    assert client.get("/api/v1/model").status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": KEY + "x"}])
def test_key_is_required_when_configured(
    protected: TestClient, example: Record, headers: dict[str, str]
) -> None:
    for response in (
        protected.get("/api/v1/model", headers=headers),
        protected.post("/api/v1/predict", json={"records": [example]}, headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["detail"] == "missing or wrong X-API-Key header"


def test_right_key_is_accepted(protected: TestClient, example: Record) -> None:
    headers = {"X-API-Key": KEY}
    assert protected.get("/api/v1/model", headers=headers).status_code == 200
    response = protected.post("/api/v1/predict", json={"records": [example]}, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics", "/"])
def test_operations_stay_open(protected: TestClient, path: str) -> None:
    assert protected.get(path).status_code == 200


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(_env_file=None, api_key="secret")


def test_bad_settings_stop_start_up_without_echoing_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_KEY", "hunter2-secret")
    monkeypatch.setenv("MAX_BATCH_SIZE", "many")
    with pytest.raises(SystemExit) as stopped:
        settings_from_environment()
    message = str(stopped.value)
    assert message.startswith("invalid settings: ")
    assert "API_KEY: Value error, API_KEY must be at least 16 characters long" in message
    assert "MAX_BATCH_SIZE: Input should be a valid integer" in message
    assert "hunter2" not in message
    assert "many" not in message


def test_cors_allows_only_configured_origins(make_client: ClientFactory) -> None:
    client = make_client(cors_origins=["https://app.example.org"])
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = client.options(
        "/api/v1/predict", headers={"Origin": "https://app.example.org", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
    denied = client.options("/api/v1/predict", headers={"Origin": "https://evil.test", **preflight})
    assert "access-control-allow-origin" not in denied.headers


def test_a_list_setting_that_is_not_json_stops_start_up_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.org")
    with pytest.raises(SystemExit) as stopped:
        settings_from_environment()
    assert str(stopped.value).startswith("invalid settings: ")
    assert "cors_origins" in str(stopped.value)
