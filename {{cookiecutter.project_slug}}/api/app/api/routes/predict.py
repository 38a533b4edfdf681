import time

from fastapi import APIRouter, HTTPException, Request, Response, status
from loguru import logger
from pydantic_core import to_json

from app import __version__
from app.answers import answer_columns, response_items
from app.api.deps import PREDICTION_REQUEST_BODY, Services, read_prediction_request
from app.prediction_log import RETRY_AFTER_SECONDS, Answered, LogFullError
from app.schemas import ErrorResponse, PredictionResponse

router = APIRouter(prefix="/api/v1", tags=["predictions"])


@router.post(
    "/predict",
    response_model=PredictionResponse,
    openapi_extra=PREDICTION_REQUEST_BODY,
    responses={
        401: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        422: {"model": ErrorResponse, "description": "Not JSON, or invalid records."},
        500: {"model": ErrorResponse, "description": "An unhandled error, logged with its id."},
        503: {"model": ErrorResponse},
    },
)
async def predict(request: Request) -> Response:
    """For each record in the batch: the predicted class and the probability of every class,
    or the predicted value and its interval."""
    # The body, the services and the request id straight from the request, not as dependencies:
    # FastAPI spends time on each dependency it solves (py-spy under load: 3% of a worker's
    # samples went to solving this route's one, as much as validating its one-record body).
    body = await read_prediction_request(request)
    services: Services = request.app.state.services
    request_id: str = request.state.request_id
    settings, predictor = services.settings, services.predictor
    if len(body.records) > settings.max_batch_size:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(body.records)} records in one request; "
            f"send at most {settings.max_batch_size} (MAX_BATCH_SIZE)",
        )
    if reason := predictor.unavailable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason)
    if settings.log_payloads:
        logger.info("Payload: {}", body.model_dump_json())
    started = time.perf_counter()
    result = await predictor.predict(body.records)
    latency_ms = (time.perf_counter() - started) * 1000
    answers = answer_columns(result)
    try:
        answered = Answered(request_id, result.model_version, body.records, answers, latency_ms)
        ids = await services.prediction_log.record(answered)
    except (LogFullError, OSError) as error:  # never answer a prediction whose row could be lost
        logger.error("Prediction not answered, its rows could not be kept: {}", error)
        reason = str(error) if isinstance(error, LogFullError) else "its spool cannot be written"
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the prediction log cannot keep this prediction ({reason}); retry",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    services.metrics.count_predictions(answers)
    if services.challenger:
        services.challenger.submit(request_id, ids, body.records)
    answer = {
        "predictions": response_items(ids, answers),
        "model_version": result.model_version,
        "api_version": __version__,
        "request_id": request_id,
    }
    return Response(to_json(answer), media_type="application/json")
