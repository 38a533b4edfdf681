from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from app.api.deps import ServicesDep
from app.comparison import compare
from app.monitoring import MINIMUM_OUTCOMES, drift, quality
from app.schemas import ComparisonAnswer, DriftAnswer, ErrorResponse, QualityReport

router = APIRouter(prefix="/api/v1/monitoring", tags=["monitoring"])


RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse, "description": "The database is unreachable; retry."},
}


@router.get("/quality", responses=RESPONSES)
async def live_quality(
    services: ServicesDep,
    hours: Annotated[
        float, Query(gt=0, le=24 * 366, description="The window: predictions of the last hours.")
    ] = 24 * 7,
) -> QualityReport:
    """How each model version does on the predictions that got an outcome, beside its holdout."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    versions = await run_in_threadpool(quality, services.engine, since, services.predictor.metadata)
    return QualityReport(since=since, minimum_outcomes=MINIMUM_OUTCOMES, versions=versions)


@router.get("/drift", responses=RESPONSES)
async def live_drift(
    services: ServicesDep,
    hours: Annotated[
        float, Query(gt=0, le=24 * 366, description="The window: predictions of the last hours.")
    ] = 24,
) -> DriftAnswer:
    """How far the served model's recent inputs and predictions are from its training data."""
    served = services.predictor.metadata
    if served is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, services.predictor.unavailable)
    since = datetime.now(UTC) - timedelta(hours=hours)
    return await run_in_threadpool(drift, services.engine, since, served)


@router.get("/comparison", responses={**RESPONSES, 404: {"model": ErrorResponse}})
async def champion_against_challenger(services: ServicesDep) -> ComparisonAnswer:
    """The challenger of api/challenger.yml against the served model, on the same outcomes: a
    paired test on the first N of them, fixed in advance (app/comparison.py)."""
    if services.challenger is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "no comparison runs: name a challenger in api/challenger.yml (README: Compare two "
            "versions)",
        )
    champion, comparison = services.predictor.version, services.challenger.comparison
    return await run_in_threadpool(compare, services.engine, champion, comparison)
