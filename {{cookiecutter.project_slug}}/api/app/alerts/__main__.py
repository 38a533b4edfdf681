"""`python -m app.alerts`: check the alert rules of api/alerts.yml once, and tell the ops colleague.

Reads the service at SERVICE_URL (with API_KEY when it has one) and the prediction log's
database (DATABASE_URL), judges each rule, and posts each alert that starts firing, and each that
resolves, to ALERT_WEBHOOK_URL as Slack-compatible JSON ({"text": ...}; any URL that takes a
POST). What fired is kept in the database (the alert_state table), so an alert is sent once and
its resolution once, whatever the schedule. It exits 1 while a critical rule fires, or when a
message could not be delivered (it is sent again next time). Railway runs it as a cron service
(railway.alerts.json); `--prometheus` prints the same rules for Prometheus instead.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from loguru import logger
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import OperationalError

from app.alerts.checks import CHECKS, Verdict
from app.alerts.readings import count_predictions, now, read_service
from app.alerts.rules import RULES_FILE, Rule, RulesError, load_rules, prometheus_rules
from app.config import Settings, settings_from_environment
from app.db import SchemaBehindError, alert_state, check_schema, make_engine
from app.logging_setup import setup_logging


@dataclass
class Change:
    """An alert that starts firing, or resolves: the message the webhook gets."""

    rule: Rule
    firing: bool
    detail: str
    since: datetime | None  # when it started firing

    def message(self, project: str) -> str:
        if self.firing:
            return (
                f"[FIRING] {self.rule.severity}: {self.rule.summary} ({project}): {self.detail}. "
                f"What to do: {self.rule.action}"
            )
        started = f", firing since {self.since:%Y-%m-%d %H:%M} UTC" if self.since else ""
        return f"[RESOLVED] {self.rule.summary} ({project}){started}: {self.detail}"


def deliver(url: str | None, text: str) -> str | None:
    """POST the message to the webhook; why it failed, or None (without a webhook: logged only).
    The URL is a secret (it carries its token): it is never part of the answer."""
    logger.warning("Alert: {}", text)
    if url is None:
        return None
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as error:
        return f"the webhook answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"the webhook did not answer: {type(error).__name__}"
    return None


def remembered(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(alert_state)).mappings()
        return {row["name"]: dict(row) for row in rows}


def check(settings: Settings, rules: dict[str, Rule], engine: Engine) -> int:
    """One check: judge, tell, remember. The exit status: 1 while a critical rule fires or a
    message was not delivered, else 0."""
    at = now()
    enabled = {name: rule for name, rule in rules.items() if rule.enabled}
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    reading = read_service(str(settings.service_url), api_key, enabled, at)
    if "no_predictions" in enabled:
        try:
            reading.predictions = count_predictions(engine, enabled["no_predictions"], at)
        except OperationalError:
            reading.predictions = None
    before = remembered(engine)
    webhook = settings.alert_webhook_url.get_secret_value() if settings.alert_webhook_url else None
    rows, status = [], 0
    for name, rule in enabled.items():
        old = before.get(name, {"firing": False, "since": None, "memory": {}})
        verdict: Verdict = CHECKS[name](rule, reading, old["memory"])
        firing = old["firing"] if verdict.firing is None else verdict.firing
        since = old["since"]
        if firing != old["firing"]:
            change = Change(rule, firing, verdict.detail, since)
            if problem := deliver(webhook, change.message(settings.project_name)):
                print(f"alerts: {name} not delivered: {problem}; sent again next time")
                firing, status = old["firing"], 1
            else:
                since = at if firing else None
        if firing and rule.severity == "critical":
            status = 1
        rows.append(
            {
                "name": name,
                "firing": firing,
                "since": since,
                "detail": verdict.detail,
                "memory": verdict.memory,
                "checked_at": at,
            }
        )
        print(f"{name}: {'FIRING' if firing else 'ok'} ({verdict.detail})")
    with engine.begin() as connection:
        connection.execute(delete(alert_state))
        connection.execute(insert(alert_state), rows)
    return status


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=Path, default=RULES_FILE, help="the rules file")
    parser.add_argument(
        "--prometheus", action="store_true", help="print the rules for Prometheus, check nothing"
    )
    options = parser.parse_args(arguments)
    try:
        rules = load_rules(options.rules)
    except RulesError as error:
        sys.exit(f"alerts: {error}")
    if options.prometheus:
        print(yaml.safe_dump(prometheus_rules(rules), sort_keys=False, width=100), end="")
        return
    settings = settings_from_environment()
    setup_logging(settings)
    if not settings.service_url:
        sys.exit("alerts: SERVICE_URL is not set: the URL of the service to check")
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)
        status = check(settings, rules, engine)
    except SchemaBehindError as error:
        sys.exit(f"alerts: {error}")
    except OperationalError as error:
        sys.exit(f"alerts: the database (DATABASE_URL) is unreachable: {error.orig}")
    finally:
        engine.dispose()
    sys.exit(status)


if __name__ == "__main__":
    main()
