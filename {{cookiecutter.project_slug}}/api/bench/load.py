"""The workloads the benchmark sends and how each is timed: requests one at a time on a keep-alive
connection (latency), wrk with 16 connections (throughput), bursts of 10k-record requests (rows a
second), and the prediction log's backlog as the service reports it on /metrics.
"""

import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

PREDICT_PATH = "/api/v1/predict"
BATCH = 10_000
# Bursts of 10k-record requests sent back to back, averaged: the garbage collector's pauses fall on
# some of them, so the best one would flatter whichever run was lucky. Each burst starts from an
# empty prediction log queue.
BATCH_BURSTS, BATCH_WARMUP, BATCH_REPEAT = 3, 1, 4
THOUSAND = 1000  # the request whose time is split into its parts


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(samples, n=100)
    return statistics.median(samples) * 1000, cuts[98] * 1000


def timed(call: Callable[[], Any], repeat: int, warmup: int | None = None) -> list[float]:
    for _ in range(min(200, repeat) if warmup is None else warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def sequential(
    port: int, path: str, body: bytes, repeat: int, warmup: int | None = None
) -> list[float]:
    """One keep-alive connection, one request at a time."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"}

    def post() -> None:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")

    try:
        return timed(post, repeat, warmup)
    finally:
        connection.close()


@contextmanager
def own_cpu(server: int | None) -> Iterator[list[str]]:
    """A one-worker server's threads on one CPU, wrk on the others (the prefix yielded), as on
    separate machines: unpinned, the server's second thread (the prediction log's writer) takes
    CPU from the load generator and lowers the figure for a reason production does not have.
    Without `server`, taskset or a second CPU, nothing is pinned."""
    cpus = [str(cpu) for cpu in sorted(os.sched_getaffinity(0))]  # the ones we may use
    if server is None or len(cpus) < 2 or not shutil.which("taskset"):
        yield []
        return
    pin = ["taskset", "--all-tasks", "--pid", "--cpu-list"]
    subprocess.run([*pin, cpus[0], str(server)], check=True, capture_output=True)
    try:
        yield ["taskset", "--cpu-list", ",".join(cpus[1:])]
    finally:
        subprocess.run([*pin, ",".join(cpus), str(server)], check=True, capture_output=True)


def throughput(port: int, path: str, body: bytes, seconds: int, server: int | None = None) -> float:
    """Requests per second from wrk with 16 keep-alive connections; with the `server` pid of a
    one-worker server, on CPUs of their own (own_cpu).

    Two wrk threads open the connections at different moments, so both Uvicorn workers accept
    some; from one thread, all 16 land on whichever worker accepts first and stay there.
    """
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "post.lua"
        lua_body = json.dumps(body.decode())
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {lua_body}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            "done = function(summary, latency, requests)\n"
            '  io.write(string.format("non-2xx: %d\\n", summary.errors.status))\n'
            "end\n"
        )
        command = ["wrk", "-t", "2", "-c", "16", "-d", f"{seconds}s", "-s", str(script)]
        with own_cpu(server) as prefix:
            output = subprocess.run(
                [*prefix, *command, f"http://127.0.0.1:{port}{path}"],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 30,
            ).stdout
    if "non-2xx: 0" not in output:
        raise RuntimeError(f"wrk saw failed requests:\n{output}")
    line = next(line for line in output.splitlines() if line.startswith("Requests/sec:"))
    return float(line.split()[1])


def rows_per_second(samples: list[float]) -> float:
    """The rate of 10k-record requests sent back to back."""
    return BATCH * len(samples) / sum(samples)


def log_backlog(port: int) -> float:
    """The prediction log's rows waiting, from /metrics."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    values = {
        (sample.name, sample.labels.get("outcome")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return values[("prediction_log_rows_pending", None)]


def batch_requests(port: int, body: bytes) -> tuple[float, str]:
    """Rows a second of bursts of 10k-record requests sent back to back, and what the prediction
    log made of the last burst: the rows still waiting when its requests ended, how long it took
    to write them, and the rate of the whole, from its first request to its last row written."""
    samples: list[float] = []
    for _ in range(BATCH_BURSTS):
        caught_up(port)  # from an empty queue (the throughput runs may leave rows waiting)
        started = time.perf_counter()
        samples += sequential(port, PREDICT_PATH, body, BATCH_REPEAT, BATCH_WARMUP)
        waiting = log_backlog(port)
        took = caught_up(port)
        logged = BATCH * (BATCH_WARMUP + BATCH_REPEAT) / (time.perf_counter() - started)
    return rows_per_second(samples), (
        f"{waiting:,.0f} rows waiting, written {took:.1f} s later; {logged:,.0f} rows/s in all"
    )


def caught_up(port: int) -> float:
    """Seconds until the prediction log has no row waiting (to half a second: a scrape of /metrics
    measures drift, work enough to make the worker busy if it came more often)."""
    started = time.perf_counter()
    while log_backlog(port):
        if time.perf_counter() - started > 120:
            raise RuntimeError("the prediction log still had rows to write after 2 minutes")
        time.sleep(0.5)
    return time.perf_counter() - started


def resident_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024
