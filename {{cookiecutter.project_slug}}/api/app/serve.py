"""The start command: `python -m app.serve` runs Uvicorn with WEB_CONCURRENCY workers on PORT.

With more than one worker, each keeps its metrics in files of one directory (prometheus-client's
multiprocess mode), new at every start, so /metrics adds up all workers whichever one answers.
The settings are checked once, here, before any worker starts, and the default SQLite prediction
log is migrated here too, so that workers never race to do it (PostgreSQL is migrated by the
deploy: railway.json's preDeployCommand, and checked here). A database that is away or behind stops
the start with one line and exit status 1: with several workers, Uvicorn would otherwise end
quietly, with status 0, once a worker failed to start.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import uvicorn
from sqlalchemy.exc import OperationalError

from app.config import settings_from_environment
from app.db import SchemaBehindError, check_schema, make_engine, migrate

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def database_problem(url: str) -> str | None:
    """Why the prediction log's database cannot serve, or None once it is ready (SQLite: migrated
    here; PostgreSQL: checked, migrated by the deploy)."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            migrate(url)
        check_schema(engine)
    except SchemaBehindError as error:
        return str(error)
    except OSError as error:  # the SQLite file's folder
        return f"the prediction log's database (DATABASE_URL) cannot be created: {error}"
    except OperationalError as error:
        return f"the prediction log's database (DATABASE_URL) is unreachable: {error.orig}"
    finally:
        engine.dispose()
    return None


def main() -> None:
    settings = settings_from_environment()
    if problem := database_problem(settings.database_url):
        sys.exit(f"app.serve: {problem}")
    # A directory of this start's own, inside PROMETHEUS_MULTIPROC_DIR if that is set (a volume,
    # say): empty at start, removed at exit, and never shared with another instance.
    parent = os.environ.pop(MULTIPROCESS_DIR, None)
    made = None
    if settings.web_concurrency > 1:
        made = Path(tempfile.mkdtemp(prefix="prometheus-", dir=parent))
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
