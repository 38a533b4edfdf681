from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app import __version__
from app.api.deps import MetricsDep, PredictorDep
from app.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/health")
def health(predictor: PredictorDep) -> Health:
    """Liveness: the process answers."""
    return Health(status="ok", api_version=__version__, model_version=predictor.version)


@router.get("/ready", responses={503: {"model": Readiness}})
def ready(predictor: PredictorDep, response: Response) -> Readiness:
    """Readiness: the packaged example record goes through the loaded model."""
    if reason := predictor.check():
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(status="unavailable", model_version=predictor.version, reason=reason)
    return Readiness(status="ready", model_version=predictor.version)


@router.get("/metrics", response_class=Response)
def metrics(metrics: MetricsDep) -> Response:
    """Prometheus exposition."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
