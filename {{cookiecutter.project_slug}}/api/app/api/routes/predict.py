from fastapi import APIRouter, HTTPException, status
from loguru import logger

from {{ cookiecutter.package_name }}.predict import DECISION_THRESHOLD
from {{ cookiecutter.package_name }}.schemas import PASSENGER_LIST

from app import __version__
from app.api.deps import RequestIdDep, ServicesDep
from app.schemas import ErrorResponse, Prediction, PredictionRequest, PredictionResponse

router = APIRouter(prefix="/api/v1", tags=["predictions"])


@router.post(
    "/predict",
    responses={
        401: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
)
async def predict(
    request: PredictionRequest, services: ServicesDep, request_id: RequestIdDep
) -> PredictionResponse:
    """Survival label and probability for each passenger in the batch."""
    settings, predictor = services.settings, services.predictor
    if len(request.records) > settings.max_batch_size:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(request.records)} records in one request; "
            f"send at most {settings.max_batch_size} (MAX_BATCH_SIZE)",
        )
    if settings.log_payloads:
        logger.debug("Payload: {}", request.model_dump_json())
    records = PASSENGER_LIST.dump_python(request.records)
    probabilities = await predictor.probabilities(records)
    labels = [int(probability >= DECISION_THRESHOLD) for probability in probabilities]
    services.metrics.count_predictions(labels)
    return PredictionResponse(
        # Our own values, already of the right types: no need to validate them again.
        predictions=[
            Prediction.model_construct(label=label, survival_probability=probability)
            for label, probability in zip(labels, probabilities, strict=True)
        ],
        model_version=predictor.version,
        api_version=__version__,
        request_id=request_id,
    )
