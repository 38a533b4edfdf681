from fastapi import APIRouter, HTTPException, Response, status

from app.answers import OTHER_TASK_FIELDS
from app.api.deps import ServicesDep
from app.outcomes import (
    ConflictingOutcomeError,
    NotLoggedYetError,
    OtherTaskError,
    ShadowPredictionError,
    UnknownPredictionError,
    record_outcome,
)
from app.prediction_log import RETRY_AFTER_SECONDS
from app.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse

router = APIRouter(prefix="/api/v1", tags=["monitoring"])


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model_exclude=set(OTHER_TASK_FIELDS),
    responses={
        200: {"model": FeedbackResponse, "description": "This outcome was already recorded."},
        400: {"model": ErrorResponse, "description": "Not UTF-8 text, or nested too deeply."},
        401: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        404: {
            "model": ErrorResponse,
            "description": "No prediction has this id, or only a challenger's shadow row.",
        },
        409: {
            "model": ErrorResponse,
            "description": "Another outcome is already recorded, or a model of the other task "
            "answered this prediction.",
        },
        422: {"model": ErrorResponse},
        503: {
            "model": ErrorResponse,
            "description": "The database is unreachable, or a fresh prediction is not in the log "
            "yet; retry (Retry-After).",
        },
    },
)
async def give_feedback(
    body: FeedbackRequest, services: ServicesDep, response: Response
) -> FeedbackResponse:
    """Record the outcome of a prediction, by the id it answered with (app/outcomes.py)."""
    try:
        recorded, new = await record_outcome(services.engine, services.prediction_log, body)
    except UnknownPredictionError:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no prediction {body.prediction_id!r}: unknown, or deleted by the retention",
        ) from None
    except ShadowPredictionError as shadow:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"{body.prediction_id!r} is a challenger's shadow prediction, never answered: send the "
            f"outcome with the answered prediction's id, {shadow.args[0]!r} (it scores both)",
        ) from None
    except NotLoggedYetError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"prediction {body.prediction_id!r} is not in the log yet (a worker's queue may "
            f"still hold it): send the outcome again in {RETRY_AFTER_SECONDS} s",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    except ConflictingOutcomeError as conflict:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"prediction {body.prediction_id!r} already has the outcome {conflict.args[0]!r}; "
            "an outcome is recorded once",
        ) from None
    except OtherTaskError as other:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"prediction {body.prediction_id!r} was answered by version {other.args[0]}, a model "
            "of the other task: its outcome cannot be scored against this one",
        ) from None
    if not new:
        response.status_code = status.HTTP_200_OK
    return recorded
