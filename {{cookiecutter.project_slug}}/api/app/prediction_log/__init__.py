"""The prediction log: every scored record becomes a row of the database (app/db.py).

- writer.py: the queue, its writer thread, and backpressure when the database falls behind;
- spool.py: the file that keeps a request's rows through a crash until they are written;
- rows.py: a request's lines in that file, and the database rows made from them;
- ids.py: prediction ids; personal_data.py: how personal fields are stored;
- retention.py: deleting old rows.
"""

from app.prediction_log.ids import issued_at
from app.prediction_log.rows import Answered
from app.prediction_log.writer import RETRY_AFTER_SECONDS, LogFullError, PredictionLog

__all__ = ["RETRY_AFTER_SECONDS", "Answered", "LogFullError", "PredictionLog", "issued_at"]
