"""Dependencies shared by the routes, and the predict route's body reader.

They are few and all `async def`: FastAPI runs plain `def` dependencies in its thread pool, and
each dependency it solves costs time on every request.
"""

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader
from pydantic import ValidationError
from sqlalchemy import Engine

from app.challenger import Challenger
from app.config import Settings
from app.metrics import Metrics
from app.prediction_log import PredictionLog
from app.predictor import Predictor
from app.schemas import PredictionRequest

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class Services:
    """What the routes use, made once by create_app."""

    settings: Settings
    predictor: Predictor
    metrics: Metrics
    prediction_log: PredictionLog
    engine: Engine
    challenger: Challenger | None  # api/challenger.yml's, when it names one


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


async def read_prediction_request(request: Request) -> PredictionRequest:
    """The body, validated by pydantic straight from its bytes. FastAPI would first build Python
    objects from the JSON and validate those: a fifth of the time of a large batch. The route
    calls it itself rather than as a dependency (FastAPI spends time on every dependency it
    solves), and documents the body itself (PREDICTION_REQUEST_BODY); errors take the usual way
    to a 422."""
    if not is_json(request.headers.get("content-type", "")):
        message = "Send the records as JSON, with the header Content-Type: application/json"
        refusal = {"type": "content_type", "loc": ("content-type",), "msg": message}
        raise RequestValidationError([refusal])
    try:
        return PredictionRequest.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None


ServicesDep = Annotated[Services, Depends(get_services)]
# The request body the predict route documents (main.py adds the schema to OpenAPI).
PREDICTION_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{PredictionRequest.__name__}"}
            }
        },
    }
}


async def require_api_key(
    services: ServicesDep, key: Annotated[str | None, Security(api_key_header)]
) -> None:
    """The X-API-Key header must match the configured key (added only when one is set)."""
    expected = services.settings.api_key
    if expected is None:
        return
    if key is None or not secrets.compare_digest(
        key.encode(), expected.get_secret_value().encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong X-API-Key header",
            headers={"WWW-Authenticate": "APIKey"},
        )
