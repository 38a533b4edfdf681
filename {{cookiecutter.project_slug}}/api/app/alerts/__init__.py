"""Alerts from the service's own figures: api/alerts.yml holds the rules; `python -m app.alerts`
checks them and posts to a webhook (__main__.py); rules.py also writes them for Prometheus.

- rules.py: the rules file, validated, and each rule's PromQL;
- readings.py: what the service and the database say now;
- checks.py: each rule's verdict on a reading.
"""
