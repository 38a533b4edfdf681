"""Smoke check of a deployed service: /ready answers, and one real prediction comes back.

The record it sends is the example the service itself publishes in its OpenAPI document.

    python scripts/smoke_check.py https://<your-service>   # API_KEY is sent when it is set

Exits 1 with the reason when the service is not ready or the prediction fails.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def call(url: str, body: object = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if api_key := os.environ.get("API_KEY"):
        headers["X-API-Key"] = api_key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_until_ready(base: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            status, body = call(f"{base}/ready")
            if status == 200:
                return body
            reason = f"/ready answered {status}: {body.get('reason')}"
        except (urllib.error.URLError, OSError) as error:
            reason = f"/ready is unreachable: {error}"
        if time.monotonic() > deadline:
            sys.exit(f"smoke check failed: {reason}")
        time.sleep(2)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/smoke_check.py <base URL of the service>")
    base = sys.argv[1].rstrip("/")
    ready = wait_until_ready(base, float(os.environ.get("SMOKE_TIMEOUT", "120")))
    _, openapi = call(f"{base}/openapi.json")
    request_schema = openapi["components"]["schemas"]["PredictionRequest"]
    example = request_schema["properties"]["records"]["examples"][0]
    status, body = call(f"{base}/api/v1/predict", {"records": example})
    if status != 200:
        sys.exit(f"smoke check failed: /api/v1/predict answered {status}: {body}")
    prediction = body["predictions"][0]
    print(
        json.dumps(
            {
                "ready": ready["status"],
                "model_version": body["model_version"],
                "label": prediction["label"],
                "probabilities": prediction["probabilities"],
            }
        )
    )


if __name__ == "__main__":
    main()
