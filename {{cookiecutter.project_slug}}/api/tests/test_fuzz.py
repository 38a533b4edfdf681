"""Schemathesis against the app's own OpenAPI document, with every check it has.

It sends schema-valid records (which must be scored) and schema-violating ones (which must get a
documented 4xx), and checks each answer's status, headers, content type and body against the
document. A failure prints the curl command that reproduces it. FUZZ_EXAMPLES sets the examples
per operation: 500 in the full tier (tox -e test_app_all), 25 otherwise.
"""

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from app.config import Settings
from app.main import create_app

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# The schema is read when this module is collected, before any fixture runs: the app gets a
# database and spool of its own here, never the developer's prediction log.
FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-"))
app = create_app(
    Settings(
        _env_file=None,
        log_level="ERROR",
        database_url=f"sqlite:///{FOLDER / 'log.sqlite3'}",
        prediction_log_spool_dir=FOLDER / "spool",
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
STATUSES: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def started() -> Iterator[None]:
    """The app's lifespan (the model loaded, the log's writer started) around the fuzzing. Once
    the predict route was fuzzed: valid records were scored (200) and invalid ones refused (422)."""
    with TestClient(app):
        yield
    shutil.rmtree(FOLDER, ignore_errors=True)
    print(f"schemathesis cases by operation and status: {dict(sorted(STATUSES.items()))}")
    if any(label == "POST /api/v1/predict" for label, _ in STATUSES):  # not left out by -k
        assert STATUSES[("POST /api/v1/predict", 200)] > 0, "no valid record was sent"
        assert STATUSES[("POST /api/v1/predict", 422)] > 0, "no invalid record was sent"


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_own_contract(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate()
    STATUSES[(case.operation.label, response.status_code)] += 1
