"""Faults against a real Uvicorn process: every failure is a JSON answer with the request id.

The model faults are real: the app imports a copy of the installed model package whose artifacts
were deleted or damaged, put first on PYTHONPATH.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import broken_copy, uvicorn

import {{ cookiecutter.package_name }} as model_package

URL = "/api/v1/predict"
BODY = {"records": [model_package.EXAMPLE_RECORD]}


def assert_envelope(response: httpx.Response, status: int, detail: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert detail in body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]


@pytest.fixture(scope="module")
def small_body_server() -> Iterator[str]:
    with uvicorn(MAX_BODY_BYTES="2048") as url:
        yield url


def test_no_model_is_503_with_the_reason(tmp_path: Path) -> None:
    with uvicorn(PYTHONPATH=str(broken_copy(tmp_path, "no model"))) as url:
        ready = httpx.get(url + "/ready")
        assert ready.status_code == 503
        reason = ready.json()["reason"]
        assert reason.startswith("ModelNotTrainedError: ")
        response = httpx.post(url + URL, json=BODY, headers={"X-Request-ID": "no-model-1"})
        assert_envelope(response, 503, reason)
        assert response.headers["x-request-id"] == "no-model-1"


def test_an_unhandled_error_is_a_json_500_logged_with_its_request_id(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    pythonpath = str(broken_copy(tmp_path / "package", "wrong features"))
    with uvicorn(log, PYTHONPATH=pythonpath, LOG_LEVEL="INFO") as url:
        assert httpx.get(url + "/ready").status_code == 503  # the example fails the same way
        response = httpx.post(url + URL, json=BODY, headers={"X-Request-ID": "fault-42"})
        assert_envelope(response, 500, "internal server error")
        assert response.headers["x-request-id"] == "fault-42"
    text = log.read_text()
    logged = [line for line in text.splitlines() if "Unhandled error answering POST" in line]
    assert logged
    assert all("fault-42" in line for line in logged)
    assert "Traceback" in text
    assert "FeatureError: feature 'no_such_feature'" in text


def test_a_body_over_the_limit_is_413_unread(small_body_server: str) -> None:
    big = json.dumps({"records": [model_package.EXAMPLE_RECORD] * 40}).encode()
    assert len(big) > 2048
    headers = {"Content-Type": "application/json"}
    declared = httpx.post(small_body_server + URL, content=big, headers=headers)
    assert_envelope(declared, 413, "over 2048 bytes (MAX_BODY_BYTES)")

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield from (big[start : start + 500] for start in range(0, len(big), 500))

    streamed = httpx.post(small_body_server + URL, content=chunks(), headers=headers)
    assert "content-length" not in streamed.request.headers
    assert_envelope(streamed, 413, "MAX_BODY_BYTES")
    assert httpx.post(small_body_server + URL, json=BODY).status_code == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_records_not_sent_as_json_are_refused_with_the_fix(
    small_body_server: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.post(small_body_server + URL, content=json.dumps(BODY), headers=headers)
    assert_envelope(response, 422, "invalid request")
    (error,) = response.json()["errors"]
    assert "Content-Type: application/json" in error["message"]
    with_charset = {"Content-Type": "application/json; charset=utf-8"}
    response = httpx.post(small_body_server + URL, content=json.dumps(BODY), headers=with_charset)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\xff\xfe not text", 422),
        (b'{"records": [', 422),
        (b"", 422),
        (b"null", 422),
        (b"[]", 422),
        (b'{"records": [' * 5000 + b"]" * 5000 + b"}", 422),  # nested beyond the parser
        (b'{"records": [{"a": NaN}]}', 422),
    ],
)
def test_unreadable_bodies_get_a_documented_4xx(
    small_body_server: str, server: str, body: bytes, status: int
) -> None:
    target = server if len(body) > 2048 else small_body_server
    response = httpx.post(target + URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.json()["request_id"] == response.headers["x-request-id"]
    documented = httpx.get(target + "/openapi.json").json()["paths"][URL]["post"]["responses"]
    assert str(status) in documented
