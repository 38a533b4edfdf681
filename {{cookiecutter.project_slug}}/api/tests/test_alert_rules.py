"""The alert rules as Prometheus rules (`python -m app.alerts --prometheus`): promtool checks them
and unit-tests each on series that should fire it and series that should not; the metrics they
and the Grafana dashboard read are the ones a running service exports; a real Prometheus scraping
a service reports the alert that should fire."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import Record, broken_copy, feedback_for, uvicorn

from app.alerts.rules import EXPRESSIONS, SERVED, load_rules, prometheus_rules
from app.monitoring import MINIMUM_DRIFT_ROWS
from bench.servers import API_ROOT, free_port

RULES = load_rules()


def test_the_prometheus_rules_are_the_enabled_rules() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.alerts", "--prometheus"],
        cwd=API_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    printed = yaml.safe_load(done.stdout)
    assert printed == prometheus_rules(RULES)
    (group,) = printed["groups"]
    enabled = [name for name, rule in RULES.items() if rule.enabled]
    assert len(group["rules"]) == len(enabled)
    for alert, name in zip(group["rules"], enabled, strict=True):
        assert alert["labels"]["severity"] == RULES[name].severity
        assert alert["annotations"]["action"] == RULES[name].action


PROMTOOL = shutil.which("promtool")
SERIES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # rule: (series that fire it, series that keep it silent); one sample a minute
    "not_ready": (
        {'model_ready{model_version="1"}': "0x100"},
        {'model_ready{model_version="1"}': "1x100"},
    ),
    "server_errors": (
        {
            'http_requests_total{route="/api/v1/predict",status="200"}': "0+10x100",
            'http_requests_total{route="/api/v1/predict",status="500"}': "0+5x100",
        },
        {
            'http_requests_total{route="/api/v1/predict",status="200"}': "0+10x100",
            'http_requests_total{route="/ready",status="503"}': "0+5x100",  # not_ready's, not this
        },
    ),
    "quality": (
        {'model_live_worse_than_holdout{model_version="1"}': "1x100"},
        {'model_live_worse_than_holdout{model_version="1"}': "0x100"},
    ),
    "drift": (
        {'model_feature_psi{model_version="1",feature="a"}': "0.4x100"},
        {'model_feature_psi{model_version="1",feature="a"}': "0.05x100"},
    ),
    "log_backlog": (
        {"prediction_log_rows_pending": "60000x100"},
        {"prediction_log_rows_pending": "10x100"},
    ),
    "log_refused": (
        {'prediction_log_rows_total{outcome="dropped_rejected"}': "0+1x100"},
        {'prediction_log_rows_total{outcome="dropped_rejected"}': "0x100"},
    ),
    "no_predictions": (  # no series at all: nothing served since a restart
        {'model_ready{model_version="1"}': "1x100"},
        {'predictions_total{label="a",model_version="1"}': "0+1x100"},
    ),
}


@pytest.fixture
def promtool() -> str:
    if PROMTOOL is None:
        message = "promtool is not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return PROMTOOL


def test_every_rule_has_series_that_fire_it_and_series_that_do_not() -> None:
    assert set(SERIES) == set(RULES)


def test_promtool_checks_the_rules_and_each_fires_only_when_it_should(
    promtool: str, tmp_path: Path
) -> None:
    rules = {name: rule.model_copy(update={"enabled": True}) for name, rule in RULES.items()}
    document = prometheus_rules(rules)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(document))
    checked = subprocess.run(
        [promtool, "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = []
    for alert in document["groups"][0]["rules"]:
        name = next(n for n in rules if EXPRESSIONS[n](rules[n]) == alert["expr"])
        # Past the rule's window and its `for`, within the 100 minutes of series (the rules
        # without a window in their PromQL, such as quality's gauge, are judged by then too).
        at = f"{min(round(rules[name].window_minutes) + 10, 90)}m"
        expected = {"exp_labels": alert["labels"], "exp_annotations": alert["annotations"]}
        for series, alerts in zip(SERIES[name], ([expected], []), strict=True):
            tests.append(
                {
                    "interval": "1m",
                    "input_series": [
                        {"series": key, "values": value} for key, value in series.items()
                    ],
                    "alert_rule_test": [
                        {"eval_time": at, "alertname": alert["alert"], "exp_alerts": alerts}
                    ],
                }
            )
    (tmp_path / "tests.yml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yml"], "tests": tests})
    )
    tested = subprocess.run(
        [promtool, "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    print(tested.stdout)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def metric_names(expression: str) -> set[str]:
    """The metrics a PromQL expression reads: what is left once groupings, label matchers,
    ranges, strings, functions and keywords are taken out."""
    for pattern in (r"\b(by|without)\s*\([^)]*\)", r"\{[^}]*\}", r"\[[^\]]*\]", r'"[^"]*"'):
        expression = re.sub(pattern, " ", expression)
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()", expression))
    return names - {"and", "or", "unless", "bool", "on", "ignoring"}


def test_every_metric_the_rules_and_the_dashboard_read_is_exported(
    tmp_path: Path, example: Record
) -> None:
    """The rules' PromQL and the Grafana dashboard's queries read only metrics a running
    service's /metrics has (after predictions, their rows written and an outcome)."""
    expressions = [EXPRESSIONS[name](rule) for name, rule in RULES.items()]
    dashboard = json.loads((API_ROOT / "grafana-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    (errors,) = [query for query in queries if "5.." in query]
    assert SERVED in errors  # the dashboard's 5xx share leaves out the probes, as the rule does
    named = set().union(*map(metric_names, expressions + queries))
    assert {"model_ready", "http_request_duration_seconds_bucket"} <= named
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    with uvicorn(DATABASE_URL=database) as url:
        # Enough records for the drift gauges (MINIMUM_DRIFT_ROWS), one of them with an outcome.
        records = {"records": [example] * MINIMUM_DRIFT_ROWS}
        response = httpx.post(f"{url}/api/v1/predict", json=records, timeout=30)
        prediction = response.json()["predictions"][0]
        httpx.post(f"{url}/api/v1/feedback", json=feedback_for(prediction), timeout=30)
        exported = httpx.get(f"{url}/metrics").text
    samples = {
        line.split("{")[0].split(" ")[0] for line in exported.splitlines() if line[:1].isalpha()
    }
    assert named <= samples, f"not exported: {sorted(named - samples)}"


def firing_alerts(port: int) -> list[str]:
    """The alerts Prometheus on `port` reports firing (none while it starts)."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=5).json()
    except httpx.TransportError:
        return []
    alerts = answer["data"]["alerts"]
    return [alert["labels"]["alertname"] for alert in alerts if alert["state"] == "firing"]


@pytest.fixture
def prometheus_server() -> str:
    path = shutil.which("prometheus")
    if path is None:
        message = "Prometheus is not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_prometheus_scraping_the_service_reports_the_alert_firing(
    prometheus_server: str, tmp_path: Path
) -> None:
    """A real Prometheus scrapes a service whose model is missing, with the generated rules
    (held for no time, evaluated every second): NotReady fires, and no other alert does."""
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    broken = str(broken_copy(tmp_path / "package", "no model"))
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(prometheus_rules(RULES, hold="0s")))
    with uvicorn(DATABASE_URL=database, PYTHONPATH=broken) as url:
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["rules.yml"],
            "scrape_configs": [
                {"job_name": "service", "static_configs": [{"targets": [url.split("//")[1]]}]}
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        command = [
            prometheus_server,
            "--config.file=prometheus.yml",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        server = subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline, firing = time.monotonic() + 60, list[str]()
            while "NotReady" not in firing:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
                assert time.monotonic() < deadline, f"NotReady did not fire within 60 s: {firing}"
                time.sleep(1)
                firing = firing_alerts(port)
            # A few evaluations more: the rules that read gauges (quality, drift, the backlog)
            # would fire by now if they were wrong about a service that serves nothing.
            time.sleep(3)
            firing = firing_alerts(port)
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert firing == ["NotReady"], firing
