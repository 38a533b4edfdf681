import time

from fastapi import APIRouter, HTTPException, status
from loguru import logger

from app import __version__
from app.api.deps import RequestIdDep, ServicesDep
from app.schemas import ErrorResponse, Prediction, PredictionRequest, PredictionResponse

router = APIRouter(prefix="/api/v1", tags=["predictions"])


def prediction(
    prediction_id: str, label: str | None, probabilities: dict[str, float] | None
) -> Prediction:
    """One record's answer: our own values, already of the right types, so not validated again."""
    if label is None or probabilities is None:  # the request passed the very same schema
        raise RuntimeError("the model package refused a record that the API had validated")
    return Prediction.model_construct(
        prediction_id=prediction_id, label=label, probabilities=probabilities
    )


@router.post(
    "/predict",
    responses={
        400: {"model": ErrorResponse, "description": "Not UTF-8 text, or nested too deeply."},
        401: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        500: {"model": ErrorResponse, "description": "An unhandled error, logged with its id."},
        503: {"model": ErrorResponse},
    },
)
async def predict(
    request: PredictionRequest, services: ServicesDep, request_id: RequestIdDep
) -> PredictionResponse:
    """The predicted class and the probability of every class, for each record in the batch."""
    settings, predictor = services.settings, services.predictor
    if len(request.records) > settings.max_batch_size:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(request.records)} records in one request; "
            f"send at most {settings.max_batch_size} (MAX_BATCH_SIZE)",
        )
    if reason := predictor.unavailable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason)
    if settings.log_payloads:
        logger.info("Payload: {}", request.model_dump_json())
    started = time.perf_counter()
    result = await predictor.predict(request.records)
    latency_ms = (time.perf_counter() - started) * 1000
    services.metrics.count_predictions(result.labels)
    ids = services.prediction_log.record(
        request_id,
        result.model_version,
        request.records,
        result.labels,
        result.probabilities,
        latency_ms,
    )
    return PredictionResponse(
        predictions=[
            prediction(*answer)
            for answer in zip(ids, result.labels, result.probabilities, strict=True)
        ],
        model_version=result.model_version,
        api_version=__version__,
        request_id=request_id,
    )
