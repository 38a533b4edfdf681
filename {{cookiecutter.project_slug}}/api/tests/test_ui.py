from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.schemas import PassengerRecord


def test_page_has_a_field_for_every_input(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for field in PassengerRecord.model_fields:
        assert f'data-field="{field}"' in response.text
    assert "<option selected>female</option>" in response.text
