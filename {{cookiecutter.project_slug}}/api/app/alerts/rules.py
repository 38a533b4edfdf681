"""The alert rules of api/alerts.yml, validated, and the same rules as Prometheus alerting rules.

Each rule is named by its key. The names are fixed, since each has its own figure: its PromQL
here (EXPRESSIONS), and its verdict in checks.py for `python -m app.alerts`.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from {{ cookiecutter.package_name }} import PSI_THRESHOLDS

from app.config import API_ROOT
from app.metrics import ROWS_REFUSED

RULES_FILE = API_ROOT / "alerts.yml"
# The Prometheus rule group's name.
GROUP = "{{ cookiecutter.project_slug }}"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Literal["critical", "warning"]
    summary: str = Field(min_length=1)
    action: str = Field(min_length=1, description="What the ops colleague should do.")
    enabled: bool = True
    window_minutes: float = Field(default=15, gt=0)
    threshold: float | None = None
    minimum: float = Field(default=0, ge=0)


class RulesError(ValueError):
    """alerts.yml cannot be used; the message names the file and what is wrong."""


def load_rules(path: Path = RULES_FILE) -> dict[str, Rule]:
    """Every rule of the file, checked: each name known, each field valid, thresholds where
    a rule needs one."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RulesError(f"{path}: cannot be read: {error}") from None
    if not isinstance(raw, dict):
        raise RulesError(f"{path}: expected a mapping of rule names to rules")
    if unknown := sorted(set(raw) - set(EXPRESSIONS)):
        raise RulesError(f"{path}: unknown rules {unknown}; the rules are {list(EXPRESSIONS)}")
    rules = {}
    for name, fields in raw.items():
        try:
            rules[name] = Rule.model_validate(fields)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors()
            )
            raise RulesError(f"{path}: rule {name}: {problems}") from None
        needed = name in ("server_errors", "log_backlog", "log_refused")
        if needed and rules[name].threshold is None:
            raise RulesError(f"{path}: rule {name} needs a threshold")
    return rules


def window(rule: Rule) -> str:
    """The rule's window as PromQL writes a duration (in seconds: a window may be shorter than a
    minute)."""
    return f"{round(rule.window_minutes * 60)}s"


def promql_increase(counter: str, rule: Rule, *matchers: str) -> str:
    """The counter's increase over the rule's window, summed, of the series `matchers` select."""
    selected = counter + ("{" + ",".join(matchers) + "}" if matchers else "")
    return f"sum(increase({selected}[{window(rule)}]))"


DRIFT = PSI_THRESHOLDS[1]
# The probes: /ready answers 503 on purpose while the service is not ready (not_ready's concern).
# server_errors counts every request but theirs (the monitoring routes the check reads count).
PROBES = ("/ready", "/health", "/metrics")
SERVED = f'route!~"{"|".join(PROBES)}"'
FAILED = 'status=~"5.."'
REFUSED_ROWS = f'outcome="{ROWS_REFUSED}"'


def server_errors(rule: Rule) -> str:
    requests = promql_increase("http_requests_total", rule, SERVED)
    failed = promql_increase("http_requests_total", rule, SERVED, FAILED)
    return f"({failed} / {requests}) > {rule.threshold} and {requests} >= {rule.minimum}"


# Each rule's PromQL, true while it fires, on the metrics /metrics exports.
EXPRESSIONS: dict[str, Callable[[Rule], str]] = {
    # min: any replica that is not ready.
    "not_ready": lambda rule: "min(model_ready) < 1 or absent(model_ready)",
    "server_errors": server_errors,
    "quality": lambda rule: "max(model_live_worse_than_holdout) > 0",
    "drift": lambda rule: (
        f"max(model_feature_psi) >= {DRIFT} or max(model_prediction_psi) >= {DRIFT}"
    ),
    "log_backlog": lambda rule: f"sum(prediction_log_rows_pending) > {rule.threshold}",
    "log_refused": lambda rule: (
        f"{promql_increase('prediction_log_rows_total', rule, REFUSED_ROWS)} > {rule.threshold}"
    ),
    # `or vector(0)`: no series at all (nothing served since a restart) is no predictions too.
    "no_predictions": lambda rule: (
        f"({promql_increase('predictions_total', rule)} or vector(0)) == 0"
    ),
}


def prometheus_rules(rules: dict[str, Rule], hold: str = "1m") -> dict[str, Any]:
    """The enabled rules as a Prometheus rules file: one alert each, firing once it has been
    true for `hold` (a scrape or two), labelled with its severity."""
    alerts = [
        {
            "alert": "".join(part.title() for part in name.split("_")),
            "expr": EXPRESSIONS[name](rule),
            "for": hold,
            "labels": {"severity": rule.severity},
            "annotations": {"summary": rule.summary, "action": rule.action},
        }
        for name, rule in rules.items()
        if rule.enabled
    ]
    return {"groups": [{"name": GROUP, "rules": alerts}]}
