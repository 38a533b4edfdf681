"""What the alert rules look at: the running service's own answers (/ready, /metrics, and the
monitoring routes, which compute quality and drift through the model package's contract) and
the prediction log's database. Nothing here re-derives a figure the service reports.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from app.alerts.rules import Rule
from app.db import predictions

TIMEOUT_SECONDS = 30
# A counter's samples: its labels, then its value.
Samples = list[tuple[dict[str, str], float]]


class ServiceAwayError(Exception):
    """The service did not answer; the message says how it failed, never with credentials."""


@dataclass
class Reading:
    """The service and the database, as the check found them."""

    checked_at: datetime
    unready: str | None  # why /ready refused, or None when ready
    model_version: str | None = None
    metrics: dict[str, Samples] = field(default_factory=dict)
    quality: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    predictions: int | None = None  # logged in no_predictions' window
    problems: list[str] = field(default_factory=list)  # what could not be read, and why


def get(url: str, api_key: str | None, accept_503: bool = False) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"X-API-Key": api_key} if api_key else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        if accept_503 and error.code == 503:
            return error.code, error.read()
        hint = " (is API_KEY the service's?)" if error.code in (401, 403) else ""
        raise ServiceAwayError(f"{url.split('?')[0]} answered {error.code}{hint}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ServiceAwayError(f"{url.split('?')[0]} did not answer: {reason}") from None


def metric_samples(text: str) -> dict[str, Samples]:
    """Every sample of a Prometheus exposition, by sample name (counters with their _total)."""
    samples: dict[str, Samples] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def read_service(
    base: str, api_key: str | None, rules: Mapping[str, Rule], now: datetime
) -> Reading:
    """The service's answers. One that does not answer /ready is not ready, and tells no more;
    a route that fails after it (a wrong API_KEY: 401) is a problem the check reports."""
    base = base.rstrip("/")
    try:
        status, body = get(f"{base}/ready", api_key, accept_503=True)
        ready = json.loads(body)
    except ServiceAwayError as error:
        return Reading(now, unready=str(error))
    except ValueError:  # a proxy's error page, say
        return Reading(now, unready=f"{base}/ready answered {status} without its JSON")
    reading = Reading(now, unready=None if status == 200 else ready.get("reason", "not ready"))
    reading.model_version = ready.get("model_version")
    try:
        reading.metrics = metric_samples(get(f"{base}/metrics", api_key)[1].decode())
    except (ServiceAwayError, ValueError) as error:
        reading.problems.append(f"/metrics: {error}")
    for name in ("quality", "drift"):
        if name in rules and rules[name].enabled:
            hours = rules[name].window_minutes / 60
            url = f"{base}/api/v1/monitoring/{name}?hours={hours:g}"
            try:
                setattr(reading, name, json.loads(get(url, api_key)[1]))
            except (ServiceAwayError, ValueError) as error:
                reading.problems.append(f"{name}: {error}")
    return reading


def count_predictions(engine: Engine, rule: Rule, now: datetime) -> int:
    """Predictions logged in the rule's window."""
    since = now - timedelta(minutes=rule.window_minutes)
    query = (
        select(func.count())
        .select_from(predictions)
        .where(predictions.c.created_at >= since, predictions.c.role == "champion")
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def now() -> datetime:
    return datetime.now(UTC)
