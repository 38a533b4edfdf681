"""The loaded model: loaded once at start-up, checked by /ready, never blocking the event loop."""

from collections.abc import Sequence

from loguru import logger
from starlette.concurrency import run_in_threadpool

from {{ cookiecutter.package_name }} import (
    EXAMPLE_RECORD,
    InputRecord,
    ModelMetadata,
    PredictionResult,
    __version__,
    load_model,
    make_prediction,
)

# A batch this small costs the model about 0.1 ms plus a few microseconds a record: less than a
# hand-off to the thread pool (about 0.3 ms on two cores), so it runs on the event loop. Larger
# batches go to a worker thread, so the loop keeps serving other requests meanwhile.
INLINE_MAX_RECORDS = 32


class Predictor:
    def __init__(self) -> None:
        self.version = __version__
        self.metadata: ModelMetadata | None = None
        self.load_error: str | None = None

    def load(self) -> None:
        """Load the model and its metadata; a failure is kept for /ready to report."""
        try:
            self.metadata = load_model()
        except Exception as error:  # noqa: BLE001 - any failure makes the service unready
            self.load_error = f"{type(error).__name__}: {error}"
            logger.error("Model {} failed to load: {}", self.version, self.load_error)
        else:
            logger.info("Loaded model {}", self.version)

    @property
    def unavailable(self) -> str | None:
        """Why the model cannot serve, or None once it is loaded."""
        if self.metadata is None:
            return self.load_error or "the model is not loaded"
        return None

    def check(self) -> str | None:
        """Run the packaged example through the model; the reason it fails, or None."""
        if reason := self.unavailable:
            return reason
        try:
            result = make_prediction([EXAMPLE_RECORD])
        except Exception as error:  # noqa: BLE001 - reported, not raised, by /ready
            return f"{type(error).__name__}: {error}"
        answers = result.labels or result.values  # a classifier's, or a regression's
        if result.errors or not answers or answers[0] is None:
            return f"the example record was rejected: {result.errors}"
        return None

    async def predict(self, records: Sequence[InputRecord]) -> PredictionResult:
        """Predictions for validated records; large batches in a worker thread."""
        if len(records) <= INLINE_MAX_RECORDS:
            return make_prediction(records)
        return await run_in_threadpool(make_prediction, records)
