"""The loaded model: loaded once at start-up, checked by /ready, never blocking the event loop."""

from typing import Any

from loguru import logger
from onnxruntime import InferenceSession
from starlette.concurrency import run_in_threadpool

from {{ cookiecutter.package_name }} import __version__ as model_version
from {{ cookiecutter.package_name }}.persistence import load_metadata, load_session
from {{ cookiecutter.package_name }}.predict import make_prediction, predict_probabilities
from {{ cookiecutter.package_name }}.schemas import EXAMPLE_PASSENGER, ModelMetadata

# A batch this small costs the model about 0.1 ms plus a few microseconds a record: less than a
# hand-off to the thread pool (about 0.3 ms on two cores), so it runs on the event loop. Larger
# batches go to a worker thread, so the loop keeps serving other requests meanwhile.
INLINE_MAX_RECORDS = 32


class Predictor:
    def __init__(self) -> None:
        self.version = model_version
        self.session: InferenceSession | None = None
        self.metadata: ModelMetadata | None = None
        self.load_error: str | None = None

    def load(self) -> None:
        """Load the artifact and its metadata; a failure is kept for /ready to report."""
        try:
            self.session = load_session()
            self.metadata = load_metadata()
        except Exception as error:  # noqa: BLE001 - any failure makes the service unready
            self.load_error = f"{type(error).__name__}: {error}"
            logger.error("Model {} failed to load: {}", self.version, self.load_error)
        else:
            logger.info("Loaded model {}", self.version)

    def check(self) -> str | None:
        """Run the packaged example through the model; the reason it fails, or None."""
        if self.session is None:
            return self.load_error or "the model is not loaded"
        try:
            result = make_prediction([EXAMPLE_PASSENGER])
        except Exception as error:  # noqa: BLE001 - reported, not raised, by /ready
            return f"{type(error).__name__}: {error}"
        if result.errors or result.probabilities[0] is None:
            return f"the example record was rejected: {result.errors}"
        return None

    async def probabilities(self, records: list[dict[str, Any]]) -> list[float]:
        """Survival probabilities of validated records; large batches in a worker thread."""
        if len(records) <= INLINE_MAX_RECORDS:
            return predict_probabilities(records)
        return await run_in_threadpool(predict_probabilities, records)
