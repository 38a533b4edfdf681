"""Schemathesis against the app's own OpenAPI document, with every check it has.

It sends schema-valid records (which must be scored) and schema-violating ones (which must get a
documented 4xx), and checks each answer's status, headers, content type and body against the
document. A failure prints the curl command that reproduces it.
"""

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.config import Settings
from app.main import create_app

EXAMPLES = 500  # per operation
app = create_app(Settings(_env_file=None, log_level="ERROR"))
app.state.services.predictor.load()  # what the lifespan does when a server starts
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
STATUSES: Counter[tuple[str, int]] = Counter()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_own_contract(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate()
    STATUSES[(case.operation.label, response.status_code)] += 1


def test_the_fuzzing_reached_the_model() -> None:
    """Both valid records (scored: 200) and invalid ones (refused: 422) were sent."""
    if not STATUSES:
        pytest.skip("counts what test_the_api_keeps_its_own_contract sent: run the whole file")
    assert STATUSES[("POST /api/v1/predict", 200)] > 0
    assert STATUSES[("POST /api/v1/predict", 422)] > 0
    print(f"schemathesis cases by operation and status: {dict(sorted(STATUSES.items()))}")
