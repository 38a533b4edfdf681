"""Confirm a deploy: the service serves the expected model and API versions, is ready, predicts.

A platform keeps serving the previous deployment until the new one is healthy, so "it answers"
proves nothing: the check polls /health until the versions are exactly the ones this checkout
pins, then /ready, then sends the example the service publishes in its OpenAPI document.

    python scripts/smoke_check.py https://<your-service>   # API_KEY is sent when it is set

The expected model version is the pin in requirements-model.txt, the API version app.__version__;
--expect-model and --expect-api override them; SMOKE_TIMEOUT (seconds, default 300) bounds the wait.
Exits 1 with the reason when the versions never match, the service is not ready, or a prediction
fails.
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

API_ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^\s*[A-Za-z0-9._-]+\s*==\s*([^\s;#]+)", re.MULTILINE)
POLL_SECONDS = 3


class NotLiveError(Exception):
    """The service does not answer as expected yet; the message says how it answers."""


def pinned_model_version() -> str:
    """The model version requirements-model.txt pins: the one source of what the API serves."""
    match = PIN.search((API_ROOT / "requirements-model.txt").read_text(encoding="utf-8"))
    if match is None:
        sys.exit("smoke check: requirements-model.txt pins no version (name==version)")
    return match.group(1)


def api_version() -> str:
    sys.path.insert(0, str(API_ROOT))
    from app import __version__

    return __version__


def call(url: str, body: object = None) -> tuple[int, dict[str, Any]]:
    """Status and JSON body; a page that is not JSON (a proxy's 502, say) is NotLiveError."""
    headers = {"Content-Type": "application/json"}
    if api_key := os.environ.get("API_KEY"):
        headers["X-API-Key"] = api_key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise NotLiveError(f"{url} is unreachable: {error}") from error
    try:
        answer = json.loads(raw or b"{}")
    except ValueError as error:
        raise NotLiveError(f"{url} answered {status} with a page that is not JSON") from error
    if not isinstance(answer, dict):
        raise NotLiveError(f"{url} answered {status} with JSON that is not an object")
    return status, answer


def serves_expected(base: str, model: str, api: str) -> dict[str, Any]:
    status, health = call(f"{base}/health")
    served = (health.get("model_version"), health.get("api_version"))
    if status != 200 or served != (model, api):
        raise NotLiveError(
            f"/health answered {status}: model {served[0]}, API {served[1]} "
            f"(expected model {model}, API {api})"
        )
    status, ready = call(f"{base}/ready")
    if status != 200:
        raise NotLiveError(f"/ready answered {status}: {ready.get('reason')}")
    return ready


def wait(base: str, model: str, api: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return serves_expected(base, model, api)
        except NotLiveError as error:
            if time.monotonic() > deadline:
                sys.exit(
                    f"smoke check failed after {seconds:.0f} s: {error}. The new deployment "
                    "did not go live: see its build and deploy logs on the platform."
                )
            print(f"waiting: {error}", file=sys.stderr, flush=True)
            time.sleep(POLL_SECONDS)


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the service's base URL")
    parser.add_argument("--expect-model", help="default: the pin in requirements-model.txt")
    parser.add_argument("--expect-api", help="default: app.__version__")
    options = parser.parse_args(arguments)
    base = options.base.rstrip("/")
    model = options.expect_model or pinned_model_version()
    api = options.expect_api or api_version()
    ready = wait(base, model, api, float(os.environ.get("SMOKE_TIMEOUT", "300")))
    try:
        _, openapi = call(f"{base}/openapi.json")
        request_schema = openapi["components"]["schemas"]["PredictionRequest"]
        example = request_schema["properties"]["records"]["examples"][0]
        status, body = call(f"{base}/api/v1/predict", {"records": example})
    except (NotLiveError, KeyError, IndexError) as error:
        sys.exit(f"smoke check failed: no prediction: {error!r}")
    if status != 200:
        sys.exit(f"smoke check failed: /api/v1/predict answered {status}: {body}")
    prediction = body["predictions"][0]
    print(
        json.dumps(
            {
                "ready": ready["status"],
                "model_version": body["model_version"],
                "api_version": api,
                "label": prediction["label"],
                "probabilities": prediction["probabilities"],
            }
        )
    )


if __name__ == "__main__":
    main()
