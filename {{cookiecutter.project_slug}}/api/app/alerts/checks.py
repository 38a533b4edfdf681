"""Each rule's verdict on a reading: firing or not, in words, and what it keeps for next time.

A counter (requests, refused rows) is judged by its growth over the rule's window: each check
keeps a snapshot of it, so the window needs two checks at least, however often they run. A verdict
of None means "cannot tell now" (the service did not say): the alert stays as it was.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.alerts.readings import Reading
from app.alerts.rules import PROBES, Rule
from app.metrics import ROWS_REFUSED
from app.monitoring import LIVE_FIGURES, WORSE

Memory = dict[str, Any]


@dataclass
class Verdict:
    firing: bool | None
    detail: str
    memory: Memory


def summed(reading: Reading, name: str, **labels: str) -> float | None:
    """A metric's samples added up (those with `labels`); None when /metrics was not read."""
    if not reading.metrics:
        return None
    return sum(
        value
        for sample_labels, value in reading.metrics.get(name, [])
        if all(sample_labels.get(key) == wanted for key, wanted in labels.items())
    )


def counter_growth(
    rule: Rule, reading: Reading, memory: Memory, values: list[float]
) -> tuple[list[float] | None, Memory]:
    """How much counters read together grew over the rule's window (None before a second check),
    and the snapshots to keep: those inside the window, and the newest one before it as its
    start, unless that is over a window older still (checks stopped: no start to trust).

    The growth is added up between neighbouring snapshots. Where any counter fell, the service
    restarted: all its counters started again from 0, so what they hold then is their growth
    since."""
    at = reading.checked_at
    start = at - timedelta(minutes=rule.window_minutes)
    oldest = start - timedelta(minutes=rule.window_minutes)
    snapshots = [s for s in memory.get("snapshots", []) if datetime.fromisoformat(s[0]) < at]
    before = [s for s in snapshots if oldest <= datetime.fromisoformat(s[0]) <= start][-1:]
    kept = before + [s for s in snapshots if datetime.fromisoformat(s[0]) > start]
    memory = {"snapshots": [*kept, [at.isoformat(), *values]]}
    if not kept:
        return None, memory
    grown = [0.0] * len(values)
    series = [snapshot[1:] for snapshot in kept] + [values]
    for then, now in itertools.pairwise(series):
        restarted = any(new < old for old, new in zip(then, now, strict=True))
        for index, (old, new) in enumerate(zip(then, now, strict=True)):
            grown[index] += new if restarted else new - old
    return grown, memory


def not_ready(rule: Rule, reading: Reading, memory: Memory) -> Verdict:
    return Verdict(reading.unready is not None, reading.unready or "ready", memory)


def server_errors(rule: Rule, reading: Reading, memory: Memory) -> Verdict:
    if not reading.metrics:
        return Verdict(None, "no /metrics", memory)
    served = [
        (labels, value)
        for labels, value in reading.metrics.get("http_requests_total", [])
        if labels.get("route") not in PROBES
    ]
    total = sum(value for _, value in served)
    errors = sum(value for labels, value in served if labels.get("status", "").startswith("5"))
    grown, memory = counter_growth(rule, reading, memory, [total, errors])
    if grown is None:
        return Verdict(None, "the first count of the window", memory)
    requests, failed = grown
    share = failed / requests if requests else 0.0
    detail = (
        f"{failed:.0f} of {requests:.0f} requests ({share:.0%}) answered 5xx in the last "
        f"{rule.window_minutes:g} min"
    )
    return Verdict(requests >= rule.minimum and share > (rule.threshold or 0), detail, memory)


def quality(rule: Rule, reading: Reading, memory: Memory) -> Verdict:
    if reading.quality is None:
        return Verdict(None, "no quality report", memory)
    served = [
        entry
        for entry in reading.quality["versions"]
        if entry["model_version"] == reading.model_version
    ]
    if not served:
        return Verdict(False, "no predictions of the served version in the window", memory)
    entry = served[0]
    figures = ", ".join(
        f"{name} {entry[name]['value']:.3g} (holdout {entry['holdout'][name]:.3g})"
        for name in LIVE_FIGURES
        if isinstance(entry.get(name), dict) and name in (entry.get("holdout") or {})
    )
    detail = f"{entry['verdict']}: {figures or 'no figures'}, {entry['with_outcome']} outcomes"
    return Verdict(entry["verdict"] == WORSE, detail, memory)


def drift(rule: Rule, reading: Reading, memory: Memory) -> Verdict:
    if reading.drift is None:
        return Verdict(None, "no drift report", memory)
    answer = reading.drift
    if not answer["enough_data"] or answer["report"] is None:
        rows = answer["rows"]
        return Verdict(False, f"{rows} predictions: too few to measure drift", memory)
    report = answer["report"]
    moved = [
        item for item in [*report["features"], report["predictions"]] if item["status"] == "drift"
    ]
    detail = ", ".join(f"{item['feature']} PSI {item['psi']:.2f}" for item in moved)
    return Verdict(bool(moved), detail or f"stable on {answer['rows']} predictions", memory)


def log_backlog(rule: Rule, reading: Reading, memory: Memory) -> Verdict:
    pending = summed(reading, "prediction_log_rows_pending")
    if pending is None:
        return Verdict(None, "no /metrics", memory)
    detail = f"{pending:,.0f} rows wait for the database"
    return Verdict(pending > (rule.threshold or 0), detail, memory)


def log_refused(rule: Rule, reading: Reading, memory: Memory) -> Verdict:
    refused = summed(reading, "prediction_log_rows_total", outcome=ROWS_REFUSED)
    if refused is None:
        return Verdict(None, "no /metrics", memory)
    grown, memory = counter_growth(rule, reading, memory, [refused])
    if grown is None:
        return Verdict(None, "the first count of the window", memory)
    detail = f"{grown[0]:.0f} rows refused in the last {rule.window_minutes:g} min"
    return Verdict(grown[0] > (rule.threshold or 0), detail, memory)


def no_predictions(rule: Rule, reading: Reading, memory: Memory) -> Verdict:
    if reading.predictions is None:
        return Verdict(None, "the database did not answer", memory)
    detail = f"{reading.predictions} predictions in the last {rule.window_minutes:g} min"
    return Verdict(reading.predictions == 0, detail, memory)


CHECKS: dict[str, Callable[[Rule, Reading, Memory], Verdict]] = {
    "not_ready": not_ready,
    "server_errors": server_errors,
    "quality": quality,
    "drift": drift,
    "log_backlog": log_backlog,
    "log_refused": log_refused,
    "no_predictions": no_predictions,
}
