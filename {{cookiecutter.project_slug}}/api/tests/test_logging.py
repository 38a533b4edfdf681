import json

import pytest
from conftest import ClientFactory, Record
from loguru import logger

from app.config import Settings

SECRET = "a-long-enough-secret-key"


def test_log_lines_carry_the_request_id(
    make_client: ClientFactory, example: Record, capfd: pytest.CaptureFixture[str]
) -> None:
    client = make_client(log_format="json", api_key=SECRET)
    client.post(
        "/api/v1/predict",
        json={"records": [example]},
        headers={"X-Request-ID": "trace-42", "X-API-Key": SECRET},
    )
    logger.complete()
    records = [json.loads(line)["record"] for line in capfd.readouterr().err.splitlines()]
    access = [r for r in records if r["message"].startswith("POST /api/v1/predict 200")]
    assert [r["extra"]["request_id"] for r in access] == ["trace-42"]
    assert any(r["message"].startswith("Loaded model") for r in records)
    everything = json.dumps(records)
    assert SECRET not in everything
    # Payloads are not logged by default: no text value of the record shows up.
    for value in example.values():
        if isinstance(value, str) and len(value) >= 6:
            assert value not in everything


def test_standard_logging_is_routed_into_loguru(
    make_client: ClientFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    import logging

    make_client(log_format="plain")
    logging.getLogger("uvicorn.error").warning("from the standard library")
    assert "from the standard library" in capfd.readouterr().err


def test_payloads_are_logged_when_asked_for_at_the_default_level(
    make_client: ClientFactory, example: Record, capfd: pytest.CaptureFixture[str]
) -> None:
    assert Settings.model_fields["log_level"].default == "INFO"
    client = make_client(log_format="json", log_payloads=True)
    client.post("/api/v1/predict", json={"records": [example]}, headers={"X-Request-ID": "p-1"})
    logger.complete()
    records = [json.loads(line)["record"] for line in capfd.readouterr().err.splitlines()]
    (payload,) = [r for r in records if r["message"].startswith("Payload: ")]
    assert payload["extra"]["request_id"] == "p-1"
    assert json.loads(payload["message"].removeprefix("Payload: ")) == {"records": [example]}
