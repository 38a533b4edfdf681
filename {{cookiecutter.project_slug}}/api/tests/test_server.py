"""Against a real Uvicorn process over HTTP, and a real browser filling the form."""

import os
import shutil

import httpx
import pytest

from {{ cookiecutter.package_name }} import __version__ as model_version
from {{ cookiecutter.package_name }}.schemas import EXAMPLE_PASSENGER


def test_real_server_answers(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as client:
        assert client.get("/ready").json()["status"] == "ready"
        response = client.post(
            "/api/v1/predict",
            json={"records": [EXAMPLE_PASSENGER]},
            headers={"X-Request-ID": "over-http"},
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "over-http"
        assert response.json()["model_version"] == model_version
        assert client.post("/api/v1/predict", json={"records": [{}]}).status_code == 422


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        message = f"no Chromium at {path}: `apt-get install chromium` or set CHROMIUM_PATH"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_browser_fills_the_form(server: str) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.goto(server + "/")
            page.fill("input[name=name]", "Smith, Mr. John")
            page.select_option("select[name=sex]", "male")
            page.select_option("select[name=pclass]", "3")
            page.fill("input[name=age]", "30")
            page.fill("input[name=fare]", "7.25")
            page.click("button[type=submit]")
            page.wait_for_function(
                "document.getElementById('result').textContent.includes('probability')"
            )
            text = page.text_content("#result") or ""
            assert text.startswith("Did not survive: survival probability")
            assert f"(model {model_version})" in text

            page.fill("input[name=age]", "-5")
            page.click("button[type=submit]")
            page.wait_for_function("document.getElementById('result').textContent.includes('422')")
            assert "age" in (page.text_content("#result") or "")
        finally:
            browser.close()
