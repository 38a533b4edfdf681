"""Against a real Uvicorn process over HTTP, and a real browser filling the form."""

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from conftest import (
    CHALLENGER_VERSION,
    REQUIRED,
    bounded_number,
    challenger_file,
    feedback_for,
    uvicorn,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

from {{ cookiecutter.package_name }} import CLASSES, EXAMPLE_RECORD, load_model
from {{ cookiecutter.package_name }} import __version__ as model_version

from bench.servers import challenger_environment


def test_real_server_answers(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as client:
        assert client.get("/ready").json()["status"] == "ready"
        response = client.post(
            "/api/v1/predict",
            json={"records": [EXAMPLE_RECORD]},
            headers={"X-Request-ID": "over-http"},
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "over-http"
        assert response.json()["model_version"] == model_version
        assert client.post("/api/v1/predict", json={"records": [{}]}).status_code == 422


def test_each_request_is_logged_once(tmp_path: Path) -> None:
    """The middleware's line, with the request id and time; not Uvicorn's access line as well."""
    log = tmp_path / "server.log"
    with uvicorn(log, LOG_LEVEL="INFO") as url:
        headers = {"X-Request-ID": "logged-once"}
        response = httpx.post(
            f"{url}/api/v1/predict", json={"records": [EXAMPLE_RECORD]}, headers=headers
        )
        assert response.status_code == 200
    lines = [line for line in log.read_text().splitlines() if "logged-once" in line]
    assert len(lines) == 1, lines
    assert "POST /api/v1/predict 200" in lines[0]


def test_metrics_add_up_across_two_workers() -> None:
    """Each request is counted once, in one shared count, whichever worker answered it."""
    line = 'http_requests_total{method="GET",route="/health",status="200"}'

    def counted(url: str) -> float:
        text = httpx.get(url + "/metrics").text  # a new connection: either worker may answer
        (value,) = [float(row.split()[-1]) for row in text.splitlines() if row.startswith(line)]
        return value

    requests = 60
    with uvicorn(WEB_CONCURRENCY="2") as url:
        before = counted(url)  # the start-up check's requests
        for _ in range(requests):
            assert httpx.get(url + "/health").status_code == 200
        assert [counted(url) for _ in range(6)] == [before + requests] * 6


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        message = f"no Chromium at {path}: `apt-get install chromium` or set CHROMIUM_PATH"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextmanager
def chromium_page(viewport: "ViewportSize | None" = None) -> Iterator["Page"]:
    """A page in Debian's Chromium, headless, closed afterwards."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser.new_page(viewport=viewport)
        finally:
            browser.close()


def test_browser_fills_the_form(server: str) -> None:
    with chromium_page() as page:
        page.goto(server + "/")
        # The form starts at the example record: send it as it is.
        page.click("button[type=submit]")
        page.wait_for_function("document.getElementById('result').textContent.includes('(model ')")
        text = page.text_content("#result") or ""
        if CLASSES:  # a classifier: the label, then every class's probability
            label = text.split(": probabilities ")[0]
            assert label in CLASSES
            for name in CLASSES:
                assert f"{name} " in text
        else:  # a regression: the value, then its interval
            assert re.fullmatch(r"\S+ \(interval \S+ to \S+\) \(model .+\)", text), text
        assert f"(model {model_version})" in text

        # A value the schema refuses comes back as a 422 that names the field: a number
        # below its minimum, or else a required text field left empty.
        texts = [name for name in REQUIRED if page.locator(f"input[name={name}]").count()]
        bounded = bounded_number()
        if bounded is not None:
            name, value = bounded[0], str(bounded[1])
        elif texts:
            name, value = texts[0], ""
        else:
            return  # every required field is a choice from a list: nothing to get wrong
        page.fill(f"input[name={name}]", value)
        page.click("button[type=submit]")
        page.wait_for_function("document.getElementById('result').textContent.includes('422')")
        assert name in (page.text_content("#result") or "")


def test_browser_shows_the_model_card(server: str, tmp_path: Path) -> None:
    """The card's plots render from the page itself: no request leaves the service."""
    with chromium_page() as page:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(server + "/api/v1/model/card", wait_until="load")
        assert f"{model_version}" in page.title()
        drawn = page.evaluate(
            "[...document.images].map((image) => [image.alt, image.complete, "
            "image.naturalWidth, image.getBoundingClientRect().height])"
        )
        plots = ["Calibration", "Confusion matrix", "ROC curve"]
        assert sorted(name for name, *_ in drawn) == (
            plots if CLASSES else ["Predicted against actual", "Residuals"]
        )
        for name, complete, width, height in drawn:
            assert complete, name
            assert width == 500, name
            assert height > 100, name
        assert page.locator("text=Holdout metrics").is_visible()
        assert page.locator(".sk-top-container, .sk-estimator").first.is_visible()
        shot = tmp_path / "model-card.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
        outside = [url for url in requested if not url.startswith((server, "data:"))]
        assert outside == []


def test_browser_shows_the_monitoring_page(server: str, tmp_path: Path) -> None:
    """After real traffic and outcomes: three charts drawn on the server, nothing fetched."""
    with httpx.Client(base_url=server, timeout=30) as client:
        answer = client.post("/api/v1/predict", json={"records": [EXAMPLE_RECORD] * 120}).json()
        for prediction in answer["predictions"][:40]:
            sent = feedback_for(prediction)
            assert client.post("/api/v1/feedback", json=sent).status_code in (200, 201)
    features = len(load_model().features.numeric) + len(load_model().features.categorical)
    with chromium_page(viewport={"width": 1000, "height": 900}) as page:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(server + "/monitoring", wait_until="load")
        assert page.locator("figure").count() == 3
        assert page.locator("figure").nth(0).locator("polyline.series").count() == 2
        assert page.locator("figure").nth(1).locator("polyline.series").count() >= 1
        assert page.locator("rect.bar").count() == features + 1  # and the predicted class
        for index in range(3):
            box = page.locator("figure svg").nth(index).bounding_box()
            assert box is not None
            assert box["width"] > 300
            assert box["height"] > 100
        shot = tmp_path / "monitoring.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        assert [url for url in requested if not url.startswith(server)] == []


def test_browser_shows_the_comparison(tmp_path: Path) -> None:
    """A challenger in shadow, 30 outcomes: the verdict and both versions' quality on the page."""
    python = challenger_environment(tmp_path, CHALLENGER_VERSION)
    named = str(challenger_file(tmp_path))
    with (
        uvicorn(
            CHALLENGER_FILE=named,
            CHALLENGER_PYTHON=str(python),
            DATABASE_URL=f"sqlite:///{tmp_path / 'log.sqlite3'}",  # these records alone
        ) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        for _ in range(300):
            if client.get("/ready").json()["challenger"]["state"] == "serving":
                break
            time.sleep(0.2)
        answer = client.post("/api/v1/predict", json={"records": [EXAMPLE_RECORD] * 30}).json()
        for _ in range(100):  # the challenger's rows are written off the request path
            if "collecting: 0 of 30" in client.get("/api/v1/monitoring/comparison").text:
                break
            time.sleep(0.1)
        for prediction in answer["predictions"]:
            assert client.post("/api/v1/feedback", json=feedback_for(prediction)).status_code == 201
        assert client.get("/api/v1/monitoring/comparison").json()["pairs"] == 30
        with chromium_page(viewport={"width": 1000, "height": 900}) as page:
            page.goto(url + "/monitoring", wait_until="load")
            caption = f"Champion {model_version} against challenger {CHALLENGER_VERSION}"
            assert page.locator(f"figcaption:has-text('{caption}')").is_visible()
            assert page.locator("p.verdict").first.text_content() == "no difference shown."
            scored = "The challenger scored 30 of the 30 records answered in this window (100%)"
            assert page.locator(f"text={scored}").count() == 1
            assert page.locator("text=exact McNemar test" if CLASSES else "text=Wilcoxon").count()
            assert page.locator(f"text=model {CHALLENGER_VERSION} (shadow)").count() == 1
            shot = tmp_path / "monitoring-comparison.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
