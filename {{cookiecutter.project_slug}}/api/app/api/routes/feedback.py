"""Outcomes: what really happened to a prediction, the ground truth that live quality needs.

An outcome is recorded once: sending the same one again is harmless (200), a different one is a
conflict (409). A prediction may still wait in a worker's queue for its row (prediction_log.py:
a busy worker's writer holds back), so a fresh id (ids carry the time they were issued) is looked
up again for a moment first, and if it is still missing the answer is 503 with Retry-After, not
404: the client sends the outcome again a little later. (A row that was dropped, the queue full,
gets 503 for FRESH_SECONDS, then 404.)
"""

import asyncio
import time
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from app.api.deps import ServicesDep
from app.db import feedback, predictions
from app.prediction_log import issued_at
from app.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse

router = APIRouter(prefix="/api/v1", tags=["monitoring"])

LOOKUP_SECONDS = 2.0  # how long a fresh id not yet in the database is looked for
FRESH_SECONDS = 60  # an id this recent may still wait in a queue: 503, not 404, while missing
RETRY_AFTER_SECONDS = 5


def lookup(engine: Engine, prediction_id: str) -> FeedbackResponse | tuple[str, str] | None:
    """The recorded outcome; else (predicted label, model version); else None (unknown id)."""
    query = (
        select(predictions.c.label, predictions.c.model_version, feedback)
        .outerjoin(feedback, feedback.c.prediction_id == predictions.c.id)
        .where(predictions.c.id == prediction_id)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    predicted, version, _, outcome, note, recorded_at = row
    if outcome is None:
        return predicted, version
    return FeedbackResponse(
        prediction_id=prediction_id,
        label=outcome,
        predicted_label=predicted,
        model_version=version,
        note=note,
        recorded_at=recorded_at,
    )


def save(engine: Engine, body: FeedbackRequest, recorded_at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(feedback).values(
                prediction_id=body.prediction_id,
                label=body.label,
                note=body.note,
                created_at=recorded_at,
            )
        )


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": FeedbackResponse, "description": "This outcome was already recorded."},
        400: {"model": ErrorResponse, "description": "Not UTF-8 text, or nested too deeply."},
        401: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        404: {"model": ErrorResponse, "description": "No prediction has this id."},
        409: {"model": ErrorResponse, "description": "Another outcome is already recorded."},
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
    """Record the outcome of a prediction, by the id it answered with."""
    engine = services.engine
    found = await run_in_threadpool(lookup, engine, body.prediction_id)
    issued = issued_at(body.prediction_id)
    fresh = issued is not None and time.time() - issued < FRESH_SECONDS
    if found is None and fresh and services.prediction_log.enabled:
        await run_in_threadpool(services.prediction_log.flush, LOOKUP_SECONDS)
        deadline = asyncio.get_running_loop().time() + LOOKUP_SECONDS
        while found is None and asyncio.get_running_loop().time() < deadline:
            found = await run_in_threadpool(lookup, engine, body.prediction_id)
            if found is None:
                await asyncio.sleep(0.1)  # another worker's queue may still hold it
        if found is None:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"prediction {body.prediction_id!r} is not in the log yet (a worker's queue may "
                f"still hold it): send the outcome again in {RETRY_AFTER_SECONDS} s",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no prediction {body.prediction_id!r}: unknown, or deleted by the retention",
        )
    if isinstance(found, tuple):
        recorded_at = datetime.now(UTC)
        try:
            await run_in_threadpool(save, engine, body, recorded_at)
        except IntegrityError:  # sent twice at once (the other won), or purged meanwhile
            found = await run_in_threadpool(lookup, engine, body.prediction_id)
        else:
            predicted, version = found
            return FeedbackResponse(
                prediction_id=body.prediction_id,
                label=body.label,
                predicted_label=predicted,
                model_version=version,
                note=body.note,
                recorded_at=recorded_at,
            )
    if not isinstance(found, FeedbackResponse):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no prediction {body.prediction_id!r}")
    if found.label != body.label:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"prediction {body.prediction_id!r} already has the outcome {found.label!r}; "
            "an outcome is recorded once",
        )
    response.status_code = status.HTTP_200_OK
    return found
