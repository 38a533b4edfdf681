from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.api.deps import ServicesDep
from app.schemas import ChallengerState, Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health(services: ServicesDep) -> Health:
    """Liveness: the process answers."""
    return Health(
        status="ok",
        api_version=__version__,
        model_version=services.predictor.version,
        commit=services.settings.source_commit,
    )


@router.get("/ready", responses={503: {"model": Readiness}})
async def ready(services: ServicesDep, response: Response) -> Readiness:
    """Readiness: the packaged example record goes through the loaded model. The challenger's
    state is reported beside it, and never makes the service unready."""
    predictor, challenger = services.predictor, services.challenger
    shadow = challenger and ChallengerState(version=challenger.version, state=challenger.state)
    if reason := await run_in_threadpool(predictor.check):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(
            status="unavailable", model_version=predictor.version, reason=reason, challenger=shadow
        )
    return Readiness(status="ready", model_version=predictor.version, challenger=shadow)


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition."""
    # With several workers this reads and merges their files: off the event loop.
    exposition = await run_in_threadpool(services.metrics.exposition)
    return Response(exposition, media_type=CONTENT_TYPE_LATEST)
