"""The start command: `python -m app.serve` runs Uvicorn with WEB_CONCURRENCY workers on PORT.

With more than one worker, each keeps its metrics in files of one directory (prometheus-client's
multiprocess mode), emptied at every start, so /metrics adds up all workers whichever one answers.
The settings are checked once, here, before any worker starts.
"""

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

from app.config import settings_from_environment

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def metrics_directory() -> Path:
    """PROMETHEUS_MULTIPROC_DIR emptied, or a new temporary directory."""
    if configured := os.environ.get(MULTIPROCESS_DIR):
        directory = Path(configured)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        return directory
    return Path(tempfile.mkdtemp(prefix="prometheus-"))


def main() -> None:
    settings = settings_from_environment()
    made = None
    if settings.web_concurrency > 1:
        made = metrics_directory()
        os.environ[MULTIPROCESS_DIR] = str(made)  # the workers inherit it
    try:
        uvicorn.run(
            "app.main:app",
            host=settings.host,
            port=settings.port,
            workers=settings.web_concurrency,
            access_log=False,  # the app logs every request itself, with its request id
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


if __name__ == "__main__":
    main()
