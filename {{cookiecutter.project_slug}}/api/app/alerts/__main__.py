"""`python -m app.alerts`: check the alert rules of api/alerts.yml once, and tell the ops colleague.

Reads the service at SERVICE_URL (one instance; with API_KEY when it has one) and the prediction
log's database (DATABASE_URL), judges each rule, and posts each alert that starts firing, and each
that resolves, to ALERT_WEBHOOK_URL as Slack-compatible JSON ({"text": ...}: Slack, Mattermost,
Rocket.Chat, or any receiver of that body). What was sent is kept in the database (the
alert_state table), so an alert is sent once and its resolution once, whatever the schedule;
without a webhook nothing counts as sent, and alerts are only printed. It exits 1 while a critical
rule fires, when a message could not be delivered (it is sent again next time), or when a figure
could not be read. A database that is away stops the check: that is posted, at every run, as it
cannot be remembered. Run it from one scheduler at a time: Railway's cron service
(railway.alerts.json) or CircleCI's schedule. `--prometheus` prints the same rules for Prometheus.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
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
        started = ""
        if self.since:  # SQLite gives it back without its time zone, PostgreSQL in the session's
            since = self.since.replace(tzinfo=self.since.tzinfo or UTC).astimezone(UTC)
            started = f", firing since {since:%Y-%m-%d %H:%M} UTC"
        return f"[RESOLVED] {self.rule.summary} ({project}){started}: {self.detail}"


def deliver(url: str, text: str) -> str | None:
    """POST the message to the webhook; why it failed, or None. The URL is a secret (it carries
    its token): it is never part of the answer."""
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


def announce(webhook: str | None, change: Change, project: str) -> bool:
    """Log the change and post it; whether it reached the webhook (without one, it did not)."""
    text = change.message(project)
    logger.warning("Alert: {}", text)
    if webhook is None:
        return False
    if problem := deliver(webhook, text):
        print(f"alerts: {change.rule.summary}: not delivered: {problem}; sent again next time")
        return False
    return True


def remembered(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(alert_state)).mappings()
        return {row["name"]: dict(row) for row in rows}


def check(settings: Settings, rules: dict[str, Rule], engine: Engine) -> int:
    """One check: judge, tell, remember. The exit status: 1 while a critical rule fires, a
    message was not delivered or a figure could not be read; else 0."""
    at = now()
    enabled = {name: rule for name, rule in rules.items() if rule.enabled}
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    reading = read_service(str(settings.service_url), api_key, enabled, at)
    if "no_predictions" in enabled:
        try:
            reading.predictions = count_predictions(engine, enabled["no_predictions"], at)
        except OperationalError:
            reading.problems.append("no_predictions: the database did not answer")
    before = remembered(engine)
    webhook = settings.alert_webhook_url.get_secret_value() if settings.alert_webhook_url else None
    status = 1 if reading.problems else 0
    for problem in reading.problems:
        print(f"alerts: could not read {problem}")
    states = []
    for name, rule in enabled.items():
        old = before.get(name, {"firing": False, "since": None, "memory": {}})
        verdict: Verdict = CHECKS[name](rule, reading, old["memory"])
        firing = old["firing"] if verdict.firing is None else verdict.firing
        sent, since = old["firing"], old["since"]
        if firing != sent:
            change = Change(rule, firing, verdict.detail, since)
            if announce(webhook, change, settings.project_name):
                sent, since = firing, (at if firing else None)
            elif webhook:
                status = 1
        if firing and rule.severity == "critical":
            status = 1
        print(f"{name}: {'FIRING' if firing else 'ok'} ({verdict.detail})")
        states.append(
            {
                "name": name,
                "firing": sent,
                "since": since,
                "detail": verdict.detail,
                "memory": verdict.memory,
                "checked_at": at,
            }
        )
    for name, old in before.items():  # a rule disabled or removed while it fired
        if name not in enabled and old["firing"] and name in rules:
            change = Change(rules[name], False, "the rule is no longer checked", old["since"])
            if not announce(webhook, change, settings.project_name):
                states.append(old)  # told next time
    with engine.begin() as connection:
        connection.execute(delete(alert_state))
        if states:
            connection.execute(insert(alert_state), states)
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
        problem = f"the database (DATABASE_URL) is unreachable: {type(error.orig).__name__}"
        if settings.alert_webhook_url:
            text = f"[CHECK FAILED] The alert check cannot run ({settings.project_name}): {problem}"
            deliver(settings.alert_webhook_url.get_secret_value(), text)
        sys.exit(f"alerts: {problem}")
    finally:
        engine.dispose()
    sys.exit(status)


if __name__ == "__main__":
    main()
