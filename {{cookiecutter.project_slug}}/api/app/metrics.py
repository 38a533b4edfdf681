"""Prometheus metrics, in a registry of the app's own; summed over the workers when several run."""

import os
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from {{ cookiecutter.package_name }} import load_model, value_bins

# What became of the prediction log's rows: written; recovered from a stopped worker's spool;
# refused by the database for good (and dropped).
ROWS_WRITTEN, ROWS_RECOVERED, ROWS_REFUSED = "written", "recovered", "dropped_rejected"


class Metrics:
    def __init__(self, model_version: str) -> None:
        self.registry = CollectorRegistry()
        self.collectors: list[Collector] = []
        self.model_version = model_version
        self.requests = Counter(
            "http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request, by route and status.",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.predictions = Counter(
            "predictions",
            "Predictions by predicted class (a regression: by the training decile of the "
            "predicted value) and model version.",
            ["label", "model_version"],
            registry=self.registry,
        )
        # A Gauge needs a multiprocess_mode: the default, "all", keeps a series per worker pid.
        self.model_info = Gauge(
            "model_info",
            "The model version being served.",
            ["model_version"],
            registry=self.registry,
            multiprocess_mode="max",  # one series for all workers
        )
        self.model_info.labels(model_version).set(1)
        self.log_rows = Counter(
            "prediction_log_rows",
            f"Rows of the prediction log: {ROWS_WRITTEN}; {ROWS_RECOVERED} from a stopped "
            f"worker's spool; {ROWS_REFUSED}: refused by the database.",
            ["outcome"],
            registry=self.registry,
        )
        # Each at 0 from the start: an alert on refused rows sees the first of them as growth.
        for outcome in (ROWS_WRITTEN, ROWS_RECOVERED, ROWS_REFUSED):
            self.log_rows.labels(outcome)
        self.log_pending = Gauge(
            "prediction_log_rows_pending",
            "Rows of the prediction log waiting (in the spool) to be written.",
            registry=self.registry,
            multiprocess_mode="livesum",  # all live workers' queues together
        )

        self.shadow_records = Counter(
            "shadow_records",
            "Records handed to the challenger in shadow (api/challenger.yml): scored, dropped "
            "or failed, and why.",
            ["outcome", "reason"],
            registry=self.registry,
        )

    def forget_worker(self, pid: int | None) -> None:
        """A worker that was killed leaves its live gauges (the log's rows pending) in the
        multiprocess directory: drop them, unless that pid is alive again (reused)."""
        if pid is None or pid == os.getpid() or not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, and another user's

    def add_collector(self, collector: Collector) -> None:
        """A collector read at each scrape (the live quality from the database, say)."""
        self.collectors.append(collector)
        self.registry.register(collector)

    def exposition(self) -> bytes:
        """The text /metrics answers: this process's metrics, or every worker's when app.serve
        started several (it sets PROMETHEUS_MULTIPROC_DIR for them)."""
        if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            for collector in self.collectors:
                registry.register(collector)
            return generate_latest(registry)
        return generate_latest(self.registry)

    def count_predictions(self, answers: Mapping[str, Sequence[Any]]) -> None:
        """One increment per predicted class name (or value bin), however large the batch."""
        labels = answers["label"] if "label" in answers else binned(answers["value"])
        for label, count in Tally(labels).items():
            if label is not None:
                self.predictions.labels(label, self.model_version).inc(count)


class ReadyCollector(Collector):
    """model_ready: 1 while /ready would answer 200 (the example record goes through the model),
    judged at each scrape, as Prometheus cannot call /ready itself."""

    def __init__(self, model_version: str, check: Callable[[], str | None]) -> None:
        self.model_version = model_version
        self.check = check

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ready = GaugeMetricFamily(
            "model_ready", "1 while the model answers the example record.", labels=["model_version"]
        )
        ready.add_metric([self.model_version], self.check() is None)
        yield ready


def binned(values: Sequence[float]) -> list[str]:
    """Each predicted value's bin of the training predictions' profile, as drift bins them; the
    model is loaded, since it predicted them."""
    profile = load_model().profile
    if profile is None:
        return ["(all)" for _ in values]
    return value_bins(values, profile.predictions)
