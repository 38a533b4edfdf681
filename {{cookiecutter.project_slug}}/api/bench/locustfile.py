"""Load test of a running service, for your own deployment:

    pip install locust
    locust -f bench/locustfile.py --host https://<your-service> --users 16 --spawn-rate 4

Sends the example record the service publishes in its OpenAPI document, one per request, and
now and then a batch; API_KEY is sent when it is set.
"""

import os
from typing import Any

from locust import HttpUser, between, task


class PredictionUser(HttpUser):  # type: ignore[misc]
    wait_time = between(0.0, 0.1)

    def on_start(self) -> None:
        schema = self.client.get("/openapi.json").json()
        request = schema["components"]["schemas"]["PredictionRequest"]
        self.records: list[dict[str, Any]] = request["properties"]["records"]["examples"][0]
        api_key = os.environ.get("API_KEY")
        self.headers = {"X-API-Key": api_key} if api_key else {}

    @task(20)
    def predict_one(self) -> None:
        self.client.post("/api/v1/predict", json={"records": self.records}, headers=self.headers)

    @task(1)
    def predict_batch(self) -> None:
        batch = self.records * 100
        self.client.post("/api/v1/predict", json={"records": batch}, headers=self.headers)
