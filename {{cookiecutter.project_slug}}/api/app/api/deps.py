"""Dependencies shared by the routes.

They are few and all `async def`: FastAPI runs plain `def` dependencies in its thread pool, and
each dependency it solves costs time on every request.
"""

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from sqlalchemy import Engine

from app.config import Settings
from app.metrics import Metrics
from app.prediction_log import PredictionLog
from app.predictor import Predictor

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class Services:
    """What the routes use, made once by create_app."""

    settings: Settings
    predictor: Predictor
    metrics: Metrics
    prediction_log: PredictionLog
    engine: Engine


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_request_id(request: Request) -> str:
    request_id: str = request.state.request_id
    return request_id


ServicesDep = Annotated[Services, Depends(get_services)]
RequestIdDep = Annotated[str, Depends(get_request_id)]


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
