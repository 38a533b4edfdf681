"""Outcomes: what really happened to a prediction, the ground truth that live quality needs.

An outcome is recorded once: sending the same one again is harmless, a different one is a
conflict. A fresh prediction's row may still wait in a worker's queue (the prediction log writes
off the request path), so a fresh id that is not in the database yet is looked up again for
LOOKUP_SECONDS, then NotLoggedYetError asks the client to send it again later. Every outcome
acknowledged is committed first.
"""

import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from app.answers import OUTCOME
from app.db import feedback, predictions
from app.prediction_log import PredictionLog, issued_at
from app.schemas import FeedbackRequest, FeedbackResponse

LOOKUP_SECONDS = 2.0  # how long a fresh id not yet in the database is looked for
FRESH_SECONDS = 60  # an id this recent may still wait in a queue


class UnknownPredictionError(Exception):
    pass


class NotLoggedYetError(Exception):
    pass


class ConflictingOutcomeError(Exception):
    pass


class ShadowPredictionError(Exception):
    """The id is a challenger's shadow row's (never answered): its outcome is its champion's."""


class OtherTaskError(Exception):
    """The prediction was answered by a model of the other task (the log predates a change of
    task): an outcome of this task cannot be compared with it."""


Predicted = tuple[str | float, str]  # what the model predicted, and its version


def response(
    prediction_id: str,
    outcome: str | float | None,
    predicted: Predicted,
    note: str | None,
    recorded_at: datetime,
) -> FeedbackResponse:
    return FeedbackResponse.model_validate(
        {
            "prediction_id": prediction_id,
            OUTCOME: outcome,
            f"predicted_{OUTCOME}": predicted[0],
            "model_version": predicted[1],
            "note": note,
            "recorded_at": recorded_at,
        }
    )


def lookup(engine: Engine, prediction_id: str) -> FeedbackResponse | Predicted | None:
    """The recorded outcome; else (prediction, model version); else None (unknown id). Raises
    OtherTaskError and ShadowPredictionError."""
    query = (
        select(
            predictions.c.champion_id,
            predictions.c[OUTCOME],
            predictions.c.model_version,
            feedback.c[OUTCOME],
            feedback.c.note,
            feedback.c.created_at,
        )
        .outerjoin(feedback, feedback.c.prediction_id == predictions.c.id)
        .where(predictions.c.id == prediction_id)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    champion_id, predicted, version, outcome, note, recorded_at = row
    if champion_id is not None:
        raise ShadowPredictionError(champion_id)
    if predicted is None:
        raise OtherTaskError(version)
    if recorded_at is None:
        return predicted, version
    return response(prediction_id, outcome, (predicted, version), note, recorded_at)


def save(engine: Engine, body: FeedbackRequest, recorded_at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(feedback).values(
                prediction_id=body.prediction_id,
                note=body.note,
                created_at=recorded_at,
                **{OUTCOME: body.outcome},
            )
        )


async def find_prediction(
    engine: Engine, log: PredictionLog, prediction_id: str
) -> FeedbackResponse | Predicted:
    """lookup(), waiting for a fresh prediction's row; raises UnknownPredictionError or
    NotLoggedYetError."""
    found = await run_in_threadpool(lookup, engine, prediction_id)
    issued = issued_at(prediction_id)
    fresh = issued is not None and time.time() - issued < FRESH_SECONDS
    if found is None and fresh and log.enabled:
        await run_in_threadpool(log.flush, LOOKUP_SECONDS)  # this worker's queue
        deadline = asyncio.get_running_loop().time() + LOOKUP_SECONDS
        while found is None and asyncio.get_running_loop().time() < deadline:
            found = await run_in_threadpool(lookup, engine, prediction_id)
            if found is None:
                await asyncio.sleep(0.1)  # another worker's queue may still hold it
        if found is None:
            raise NotLoggedYetError(prediction_id)
    if found is None:
        raise UnknownPredictionError(prediction_id)
    return found


async def record_outcome(
    engine: Engine, log: PredictionLog, body: FeedbackRequest
) -> tuple[FeedbackResponse, bool]:
    """The outcome as recorded, and whether it is new; raises UnknownPredictionError,
    NotLoggedYetError, ConflictingOutcomeError, OtherTaskError or ShadowPredictionError."""
    found = await find_prediction(engine, log, body.prediction_id)
    if isinstance(found, tuple):
        recorded_at = datetime.now(UTC)
        try:
            await run_in_threadpool(save, engine, body, recorded_at)
        except IntegrityError:  # sent twice at once (the other won), or purged meanwhile
            found = await find_prediction(engine, log, body.prediction_id)
        else:
            return response(body.prediction_id, body.outcome, found, body.note, recorded_at), True
    if not isinstance(found, FeedbackResponse):  # purged between the insert and the lookup
        raise UnknownPredictionError(body.prediction_id)
    recorded = getattr(found, OUTCOME)
    if recorded != body.outcome:
        raise ConflictingOutcomeError(recorded)
    return found, False
