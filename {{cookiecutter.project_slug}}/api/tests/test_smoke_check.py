"""The deploy confirmation, scripts/smoke_check.py, against a real service."""

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from conftest import uvicorn

from {{ cookiecutter.package_name }} import __version__ as model_version

from app import __version__ as api_version
from bench.servers import API_ROOT

SMOKE_CHECK = [sys.executable, str(API_ROOT / "scripts" / "smoke_check.py")]


def smoke_check(url: str, *options: str, seconds: int = 6) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMOKE_CHECK, url, *options],
        cwd=API_ROOT,
        env={**os.environ, "SMOKE_TIMEOUT": str(seconds)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_confirms_a_service_that_serves_the_expected_versions() -> None:
    with uvicorn() as url:
        done = smoke_check(url, "--expect-model", model_version)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["model_version"], answer["api_version"]) == (model_version, api_version)


def test_fails_against_a_service_that_still_serves_another_version() -> None:
    """What a failed deploy looks like: the platform keeps the previous deployment running."""
    with uvicorn() as url:
        done = smoke_check(url, "--expect-model", "99.0.0")
    assert done.returncode == 1
    assert f"model_version {model_version}, api_version {api_version} (expected" in done.stderr
    assert "model_version 99.0.0" in done.stderr
    assert "did not go live" in done.stderr


def test_the_commit_tells_a_new_deploy_of_the_same_versions_from_the_old_one() -> None:
    """Pin and API version taken from this checkout, as CI runs it; the commit decides."""
    with uvicorn(SOURCE_COMMIT="0ld") as url:
        old = smoke_check(url, "--expect-commit", "n3w")
        current = smoke_check(url, "--expect-commit", "0ld")
    assert old.returncode == 1
    assert "commit 0ld (expected model_version" in old.stderr
    assert current.returncode == 0, current.stderr
    assert json.loads(current.stdout)["commit"] == "0ld"


def test_an_api_version_mismatch_fails() -> None:
    with uvicorn() as url:
        done = smoke_check(url, "--expect-model", model_version, "--expect-api", "9.9.9")
    assert done.returncode == 1
    assert "api_version 9.9.9" in done.stderr


def test_a_url_without_its_scheme_is_refused_at_once() -> None:
    done = smoke_check("my-service.up.railway.app")
    assert done.returncode == 2
    assert "must start with https://" in done.stderr


class BadGateway(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>502 Bad Gateway</body></html>")

    def log_message(self, *arguments: object) -> None:
        """Quiet."""


@contextmanager
def bad_gateway() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BadGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_waits_through_an_html_error_page_and_names_it() -> None:
    """While a deployment comes up, a proxy answers with HTML: keep polling, then say so."""
    with bad_gateway() as url:
        done = smoke_check(url, "--expect-model", model_version, seconds=4)
    assert done.returncode == 1
    assert "waiting: " in done.stderr
    assert "answered 502 with a page that is not JSON" in done.stderr
    assert "Traceback" not in done.stderr
