"""Deletes rows older than PREDICTION_LOG_RETENTION_DAYS (their outcomes go with them)."""

import time
from datetime import UTC, datetime, timedelta

from loguru import logger
from sqlalchemy import Engine, delete
from sqlalchemy.exc import SQLAlchemyError

from app.db import predictions

PURGE_EVERY_SECONDS = 3600


class Retention:
    def __init__(self, engine: Engine, days: int | None) -> None:
        self.engine = engine
        self.days = days
        self.last: float | None = None  # None: purge at the first chance

    def purge_if_due(self) -> None:
        """Delete the old rows, at most once every PURGE_EVERY_SECONDS; a failure is logged."""
        if self.days is None or (
            self.last is not None and time.monotonic() - self.last < PURGE_EVERY_SECONDS
        ):
            return
        self.last = time.monotonic()
        cutoff = datetime.now(UTC) - timedelta(days=self.days)
        try:
            with self.engine.begin() as connection:
                deleted = connection.execute(
                    delete(predictions).where(predictions.c.created_at < cutoff)
                ).rowcount
        except SQLAlchemyError as error:
            logger.warning("Prediction log: the retention purge failed: {}", error)
            return
        logger.info("Prediction log: deleted {} rows older than {} days", deleted, self.days)
