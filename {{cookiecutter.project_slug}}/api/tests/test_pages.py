from html import escape

from conftest import FIELDS, field_options
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import EXAMPLE_RECORD


def test_page_has_a_field_for_every_input(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for field in FIELDS:
        assert f'data-field="{field}"' in response.text


def test_choices_start_at_the_example(client: TestClient) -> None:
    text = client.get("/").text
    for field, value in EXAMPLE_RECORD.items():
        if value is not None and any("enum" in option for option in field_options(field)):
            assert f"<option selected>{escape(str(value))}</option>" in text
