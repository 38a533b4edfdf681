"""Confirm a deploy: the service runs this commit and the expected versions, is ready, predicts.

A platform keeps serving the previous deployment until the new one is healthy, so "it answers"
proves nothing. The check polls /health until the service reports the expected model version, API
version and, with --expect-commit, the commit the deploy shipped (CI writes it to app/COMMIT); only
the commit tells a new deploy of the same versions from the old one. Then it checks /ready (and,
when challenger.yml names a challenger, that it serves in shadow) and sends the example the
service publishes in its OpenAPI document.

    python scripts/smoke_check.py https://<your-service> [--expect-commit SHA]

The expected model version is the model package's VERSION (install.pinned_model), the API version
app.__version__; --expect-model and --expect-api override them. SMOKE_TIMEOUT (seconds, default
300) bounds the wait. API_KEY is sent when it is set. Exits 1 with the reason when the service
never reports what is expected, is not ready, or fails to predict.
"""

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from install import challenger_version, pinned_model

API_ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 3
REQUEST_SECONDS = 10


class NotLiveError(Exception):
    """The service does not answer as expected (yet); the message says how it answers."""


class UnreachableError(NotLiveError):
    """Nothing answers at the URL at all."""


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET and carry the API key along: report it."""

    def redirect_request(self, *arguments: Any, **options: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def api_version() -> str:
    sys.path.insert(0, str(API_ROOT))
    from app import __version__

    return __version__


def call(url: str, body: object = None) -> tuple[int, dict[str, Any]]:
    """Status and JSON body. A page that is not JSON (a proxy's 502, say) is NotLiveError."""
    headers = {"Content-Type": "application/json"}
    if api_key := os.environ.get("API_KEY"):
        headers["X-API-Key"] = api_key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with OPENER.open(request, timeout=REQUEST_SECONDS) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
        if 300 <= status < 400:
            where = error.headers.get("Location")
            raise NotLiveError(f"{url} redirects to {where}: give that address instead") from error
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise UnreachableError(f"{url} is unreachable: {error}") from error
    try:
        answer = json.loads(raw or b"{}")
    except ValueError as error:
        raise NotLiveError(f"{url} answered {status} with a page that is not JSON") from error
    if not isinstance(answer, dict):
        raise NotLiveError(f"{url} answered {status} with JSON that is not an object")
    return status, answer


def serves_expected(base: str, expected: dict[str, str], challenger: str | None) -> dict[str, Any]:
    status, health = call(f"{base}/health")
    served = {name: health.get(name) for name in expected}
    if status != 200 or served != expected:
        shown = ", ".join(f"{name} {value}" for name, value in served.items())
        wanted = ", ".join(f"{name} {value}" for name, value in expected.items())
        raise NotLiveError(f"/health answered {status}: {shown} (expected {wanted})")
    status, ready = call(f"{base}/ready")
    if status != 200:
        raise NotLiveError(f"/ready answered {status}: {ready.get('reason')}")
    shadow = ready.get("challenger") or {}
    if (shadow.get("version"), shadow.get("state")) != (
        challenger,
        "serving" if challenger else None,
    ):
        found = f"{shadow.get('version')} ({shadow.get('state')})" if shadow else "none"
        raise NotLiveError(f"/ready reports the challenger {found}, expected {challenger}")
    return ready


def wait(
    base: str, expected: dict[str, str], challenger: str | None, seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return serves_expected(base, expected, challenger)
        except NotLiveError as error:
            if time.monotonic() + POLL_SECONDS > deadline:
                advice = (
                    "check the URL (SERVICE_URL)"
                    if isinstance(error, UnreachableError)
                    else "the new deployment did not go live: see its build and deploy logs"
                )
                sys.exit(f"smoke check failed after {seconds:.0f} s: {error}; {advice}")
            print(f"waiting: {error}", file=sys.stderr, flush=True)
            time.sleep(POLL_SECONDS)


def predict(base: str, model_version: str) -> dict[str, Any]:
    """One prediction of the OpenAPI example, answered by the expected model."""
    try:
        _, openapi = call(f"{base}/openapi.json")
        request_schema = openapi["components"]["schemas"]["PredictionRequest"]
        example = request_schema["properties"]["records"]["examples"][0]
        status, body = call(f"{base}/api/v1/predict", {"records": example})
        if status != 200:
            sys.exit(f"smoke check failed: /api/v1/predict answered {status}: {body}")
        prediction: dict[str, Any] = body["predictions"][0]
        served = body["model_version"]
    except (NotLiveError, KeyError, IndexError, TypeError) as error:
        sys.exit(f"smoke check failed: no prediction: {error!r}")
    if served != model_version:
        sys.exit(f"smoke check failed: model {served} predicted, not {model_version}")
    return prediction


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the service's base URL, https://...")
    parser.add_argument("--expect-model", help="default: the model package's VERSION")
    parser.add_argument("--expect-api", help="default: app.__version__")
    parser.add_argument("--expect-commit", help="the commit the deploy shipped (CI's SHA)")
    options = parser.parse_args(arguments)
    base = options.base.strip().rstrip("/")
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        parser.error(f"the base URL must start with https:// (got {base!r})")
    expected = {
        "model_version": options.expect_model or pinned_model()[1],
        "api_version": options.expect_api or api_version(),
    }
    if options.expect_commit:
        expected["commit"] = options.expect_commit
    challenger = challenger_version()
    ready = wait(base, expected, challenger, float(os.environ.get("SMOKE_TIMEOUT", "300")))
    prediction = predict(base, expected["model_version"])
    print(
        json.dumps(
            {
                "ready": ready["status"],
                **expected,
                "challenger_version": challenger,
                **prediction,  # its id, and a label and probabilities, or a value and interval
            }
        )
    )


if __name__ == "__main__":
    main()
