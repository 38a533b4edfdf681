"""Serving benchmark: starts what it measures on 127.0.0.1, stops it by PID, prints one table.

Every figure comes from the same run on this machine, so the ratios compare like with like.
Throughput needs wrk (Debian: apt-get install wrk). Run it with `tox -e bench` (which runs
`python -m bench.run` in api/).

The service runs as deployed, prediction log included (a SQLite file of this run's own), and once
more with PREDICTION_LOG=false, to show what the log costs. BENCH_POSTGRES_URL (an empty, migrated
or migratable PostgreSQL database) adds the same figures with the log on PostgreSQL.
bench/bare_app.py holds the floors: FastAPI with nothing to do (bare), and the model-only route (the
same model behind the least a route can do). With one worker, the server runs on one CPU and wrk on
the others (taskset), as on separate machines; the 2-worker figure is compared with one worker that
shares every CPU with wrk, as the two workers do.

A 1,000-record request is timed over HTTP and split, in this process, into its parts (parse and
validate, predict, answer) against the package scoring the same records already validated. Cold
start is a new process's time to its first 200 on /ready, with the bytecode scripts/install.py
wrote, and without it (a pycache prefix holding the standard library's bytecode alone).
"""

import argparse
import gc
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from pydantic_core import to_json

from {{ cookiecutter.package_name }} import EXAMPLE_RECORD, InputRecord, make_prediction

from app.answers import answer_columns, response_items
from app.config import Settings
from app.db import make_engine, migrate
from app.metrics import Metrics
from app.prediction_log import PredictionLog
from app.prediction_log.ids import new_ids
from app.schemas import PredictionRequest

API_ROOT = Path(__file__).resolve().parents[1]
PREDICT = ("app.serve", "/api/v1/predict")  # the start command, as deployed
BARE = ("bench.bare_app:app", "/echo")
MODEL_ONLY = "/predict"  # on the bare app: the model behind the least a route can do
BATCH = 10_000
# Bursts of 10k-record requests sent back to back, averaged: the garbage collector's pauses fall on
# some of them, so the best one would flatter whichever run was lucky. Each burst starts from an
# empty prediction log queue.
BATCH_BURSTS, BATCH_WARMUP, BATCH_REPEAT = 3, 1, 4
THOUSAND = 1000  # the request whose time is split into its parts
COLD_STARTS = 3  # of each kind; the median is shown


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def uvicorn(
    app: str, workers: int, **settings: str
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Uvicorn as a separate process, as deployed: default settings (and `settings`), so every
    request is logged (formatted and written; to /dev/null, since a file shared by the workers
    would serialize them) and every prediction is kept in the prediction log.
    """
    port = free_port()
    env = {**os.environ, "MAX_BATCH_SIZE": str(BATCH), **settings}
    if app == PREDICT[0]:
        command = [sys.executable, "-m", app]
        env |= {"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    else:
        command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers), "--no-access-log"]
    output = subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=API_ROOT, env=env, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/openapi.json")
                connection.getresponse().read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"uvicorn {app} did not start; run it by hand to see why: {command}"
                    ) from None
                time.sleep(0.2)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(samples, n=100)
    return statistics.median(samples) * 1000, cuts[98] * 1000


def milliseconds(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.3f} / {pair[1]:.3f} ms"


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
        samples += sequential(port, PREDICT[1], body, BATCH_REPEAT, BATCH_WARMUP)
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


def log_writer_rate(url: str, spool: Path, rows: int = 50_000) -> float:
    """Rows a second the prediction log's writer stores, with the process to itself: the most one
    worker can log. Beyond it, rows wait in the spool, up to PREDICTION_LOG_MAX_PENDING; then
    predictions get 503 until there is room."""
    migrate(url)
    engine = make_engine(url)
    settings = Settings(
        _env_file=None,
        database_url=url,
        personal_data_key=SecretStr("k" * 32),
        prediction_log_spool_dir=spool,
    )
    log = PredictionLog(engine, settings, Metrics("bench"))
    records = [InputRecord.model_validate(EXAMPLE_RECORD)] * 1000
    result = make_prediction(records)
    answers = answer_columns(result)
    for request in range(rows // len(records)):  # queued first: only the writing is timed
        log.append(f"bench-{request}", result.model_version, records, answers, 1.0)
    started = time.perf_counter()
    log.start()
    if not log.flush(timeout=600):
        raise RuntimeError("the prediction log did not write the benchmark's rows in 10 minutes")
    elapsed = time.perf_counter() - started
    log.stop()
    engine.dispose()
    return rows / elapsed


Results = dict[str, Any]
# (target, measured value, the bound it must meet, whether it is a floor or a ceiling)
Target = tuple[str, float, float, str]


def measure_in_process(results: Results, requests: int, batch: list[dict[str, Any]]) -> None:
    """make_prediction in this process: one record, and the 10k-record batches."""
    make_prediction([EXAMPLE_RECORD])  # loads the model
    gc.collect()
    gc.freeze()  # as the service's workers do after start-up (app/main.py)
    results["in-process"] = percentiles(timed(lambda: make_prediction([EXAMPLE_RECORD]), requests))
    samples = timed(lambda: make_prediction(batch), BATCH_BURSTS * BATCH_REPEAT, BATCH_WARMUP)
    results["in-process batch rate"] = rows_per_second(samples)


def measure_thousand_parts(results: Results, body: bytes) -> None:
    """A 1,000-record request's work, part by part, as the route does it (p50 of each): parse and
    validate the body, predict, write the answer; predicting is the package scoring records
    already validated, the floor of the whole request."""
    request = PredictionRequest.model_validate_json(body)
    result = make_prediction(request.records)

    def answer() -> bytes:
        items = response_items(new_ids(THOUSAND), answer_columns(result))
        return to_json({"predictions": items, "model_version": result.model_version})

    parts = {
        "parse and validate": lambda: PredictionRequest.model_validate_json(body),
        "predict": lambda: make_prediction(request.records),
        "answer": answer,
    }
    for name, call in parts.items():
        results[f"thousand {name}"] = statistics.median(timed(call, 50, 5)) * 1000


def stdlib_bytecode_only(prefix: Path) -> None:
    """A pycache prefix holding the standard library's bytecode alone: a process given it
    (PYTHONPYCACHEPREFIX) compiles the installed packages and the service from source, as after
    an install that wrote no bytecode."""
    for cached in Path(sysconfig.get_paths()["stdlib"]).rglob("__pycache__/*.pyc"):
        target = prefix / str(cached.parent.parent).lstrip(os.sep) / cached.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target)


def cold_start(settings: dict[str, str]) -> float:
    """Seconds from starting the service (one worker) to its first 200 on /ready."""
    port = free_port()
    env = {**os.environ, **settings, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", PREDICT[0]],
        cwd=API_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/ready")
                if connection.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            if process.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError(f"the service did not become ready: {PREDICT[0]}")
            time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(timeout=15)


def measure_cold_starts(results: Results, sqlite: dict[str, str], folder: str) -> None:
    """Cold starts with the installed bytecode, and without it, in turns (median of COLD_STARTS
    each); neither writes bytecode, so each run finds what the install left."""
    prefix = Path(folder) / "pycache"
    stdlib_bytecode_only(prefix)
    kinds = {"with": {}, "without": {"PYTHONPYCACHEPREFIX": str(prefix)}}
    starts: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(COLD_STARTS):
        for name, settings in kinds.items():
            started = cold_start({**sqlite, **settings, "PYTHONDONTWRITEBYTECODE": "1"})
            starts[name].append(started)
    for name, seconds in starts.items():
        results[f"cold start {name} bytecode"] = statistics.median(seconds)


def measure_servers(
    results: Results, arguments: argparse.Namespace, sqlite: dict[str, str]
) -> None:
    """The service as deployed and the bare app (its model-only route too): 1 and 2 workers."""
    one, batch_body = arguments.one, arguments.batch_body
    for name, (app, path) in (("predict", PREDICT), ("bare", BARE)):
        with uvicorn(app, workers=1, **sqlite) as (port, process):
            results[name] = percentiles(sequential(port, path, one, arguments.requests))
            results[f"{name} 1 worker"] = throughput(
                port, path, one, arguments.seconds, process.pid
            )
            if name == "bare":
                model_only = throughput(port, MODEL_ONLY, one, arguments.seconds, process.pid)
                results["model-only 1 worker"] = model_only
            if name == "predict":  # for the 2 workers, which share both CPUs with wrk
                shared = throughput(port, path, one, arguments.seconds)
                results["predict 1 worker, CPUs shared"] = shared
                caught_up(port)  # the prediction log idle, as before the 10k-record requests
                thousand = sequential(port, path, arguments.thousand_body, 50, 5)
                results["thousand http"] = statistics.median(thousand) * 1000
                results["http batch rate"], results["log SQLite"] = batch_requests(port, batch_body)
                results["memory"] = resident_mb(process.pid)
        with uvicorn(app, workers=2, **sqlite) as (port, _):
            results[f"{name} 2 workers"] = throughput(port, path, one, arguments.seconds)


def measure_logs(results: Results, arguments: argparse.Namespace, logs: dict[str, Any]) -> None:
    """The service with the log off, and with it on PostgreSQL when BENCH_POSTGRES_URL is set."""
    for name, settings in logs.items():
        if settings["DATABASE_URL"].startswith("postgres"):
            migrate_command = [sys.executable, "-m", "app.migrate"]
            subprocess.run(
                migrate_command, cwd=API_ROOT, env={**os.environ, **settings}, check=True
            )
        with uvicorn(PREDICT[0], workers=1, **settings) as (port, process):
            one = arguments.one
            results[name] = percentiles(sequential(port, PREDICT[1], one, arguments.requests))
            per_second = throughput(port, PREDICT[1], one, arguments.seconds, process.pid)
            results[f"{name} 1 worker"] = per_second
            rate, backlog = batch_requests(port, arguments.batch_body)
            results[f"{name} batch rate"], results[f"{name} log"] = rate, backlog


def figures(results: Results, logs: dict[str, Any], writers: list[str]) -> list[tuple[str, str]]:
    """The table's rows: what was measured, as measured."""
    rate = "{:,.0f} req/s".format
    rows = [
        ("in-process make_prediction, 1 record: p50 / p99", milliseconds(results["in-process"])),
        ("HTTP POST /api/v1/predict, 1 record: p50 / p99", milliseconds(results["predict"])),
        ("bare FastAPI POST handler: p50 / p99", milliseconds(results["bare"])),
        ("predict, 16 clients, 1 worker", rate(results["predict 1 worker"])),
        (
            "predict, 16 clients, 1 worker, CPUs shared with wrk",
            rate(results["predict 1 worker, CPUs shared"]),
        ),
        ("predict, 16 clients, 2 workers", rate(results["predict 2 workers"])),
        ("bare, 16 clients, 1 worker", rate(results["bare 1 worker"])),
        ("bare, 16 clients, 2 workers", rate(results["bare 2 workers"])),
        ("model-only route, 16 clients, 1 worker", rate(results["model-only 1 worker"])),
        (f"{THOUSAND:,} records in one HTTP request: p50", f"{results['thousand http']:.2f} ms"),
        *(
            (f"  in-process: {part}", f"{results['thousand ' + part]:.2f} ms")
            for part in ("parse and validate", "predict", "answer")
        ),
        (f"{BATCH:,} records in one HTTP request", f"{results['http batch rate']:,.0f} rows/s"),
        (
            f"{BATCH:,} records in-process make_prediction",
            f"{results['in-process batch rate']:,.0f} rows/s",
        ),
        ("resident memory of one worker after the run", f"{results['memory']:.0f} MB"),
        *(
            (f"cold start to /ready, {kind}", f"{results[f'cold start {name} bytecode']:.2f} s")
            for name, kind in (("with", "installed bytecode"), ("without", "no bytecode"))
        ),
    ]
    for name in logs:
        rows += [
            (f"predict ({name}), 1 record: p50 / p99", milliseconds(results[name])),
            (f"predict ({name}), 16 clients, 1 worker", rate(results[f"{name} 1 worker"])),
            (
                f"{BATCH:,} records over HTTP ({name})",
                f"{results[name + ' batch rate']:,.0f} rows/s",
            ),
        ]
    for database in writers:
        writer_rate = f"{results['writer ' + database]:,.0f} rows/s"
        rows.append((f"prediction log writer alone, {database}", writer_rate))
    after = f"prediction log after the {BATCH:,}-record requests"
    rows.append((f"{after}, SQLite", results["log SQLite"]))
    if "log on PostgreSQL" in logs:
        rows.append((f"{after}, PostgreSQL", results["log on PostgreSQL log"]))
    return rows


def targets(results: Results, logs: dict[str, Any]) -> tuple[list[Target], list[tuple[str, float]]]:
    """The targets, and the ratios printed without one (the log's cost on 10k-record requests:
    such tables belong to the batch scorer)."""
    met: list[Target] = [
        ("HTTP p50 <= 2x bare p50", results["predict"][0] / results["bare"][0], 2, "<="),
        (
            "2 workers >= 1.8x 1 worker (predict)",  # both sharing the CPUs with wrk
            results["predict 2 workers"] / results["predict 1 worker, CPUs shared"],
            1.8,
            ">=",
        ),
        (
            "10k rows over HTTP >= 0.5x in-process",
            results["http batch rate"] / results["in-process batch rate"],
            0.5,
            ">=",
        ),
        ("worker memory <= 200 MB", results["memory"], 200, "<="),
        (
            "1-worker predict >= 0.7x model-only route",
            results["predict 1 worker"] / results["model-only 1 worker"],
            0.7,
            ">=",
        ),
        (
            f"{THOUSAND:,} records over HTTP <= 2x predict",
            results["thousand http"] / results["thousand predict"],
            2,
            "<=",
        ),
        (
            "cold start with bytecode <= 0.6x without",
            results["cold start with bytecode"] / results["cold start without bytecode"],
            0.6,
            "<=",
        ),
    ]
    # The prediction log's cost: SQLite (the rows above) and PostgreSQL against no log at all.
    with_log = {"SQLite": ("predict", "predict 1 worker", "http batch rate")}
    if "log on PostgreSQL" in logs:
        name = "log on PostgreSQL"
        with_log["PostgreSQL"] = (name, f"{name} 1 worker", f"{name} batch rate")
    shown = []
    for database, (latency, rate, batch_rate) in with_log.items():
        off = results["log off"][0]
        met.append(
            (f"log on {database}: p50 <= 1.2x log off", results[latency][0] / off, 1.2, "<=")
        )
        ratio = results[rate] / results["log off 1 worker"]
        met.append((f"log on {database}: throughput >= 0.8x off", ratio, 0.8, ">="))
        shown.append(
            (
                f"log on {database}: 10k rows, x log off",
                results[batch_rate] / results["log off batch rate"],
            )
        )
    return met, shown


def report(rows: list[tuple[str, str]], results: Results, logs: dict[str, Any]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\nServing benchmark ({os.cpu_count()} CPUs, all figures from this run)\n")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print()
    checked, shown = targets(results, logs)
    for target, measured, bound, direction in checked:
        met = measured <= bound if direction == "<=" else measured >= bound
        print(f"  {target:<44} {measured:8.2f}   {'met' if met else 'NOT MET'}")
    for name, measured in shown:
        print(f"  {name:<44} {measured:8.2f}   (no target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="sequential requests per server")
    parser.add_argument("--seconds", type=int, default=8, help="duration of each throughput run")
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is needed for the throughput figures (apt-get install wrk)")
    batch = [dict(EXAMPLE_RECORD) for _ in range(BATCH)]  # the same rows in both paths
    arguments.one = json.dumps({"records": [EXAMPLE_RECORD]}).encode()
    arguments.batch_body = json.dumps({"records": batch}).encode()
    arguments.thousand_body = json.dumps({"records": batch[:THOUSAND]}).encode()

    results: Results = {}
    measure_in_process(results, arguments.requests, batch)
    measure_thousand_parts(results, arguments.thousand_body)
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        sqlite = {
            "DATABASE_URL": f"sqlite:///{folder}/prediction_log.sqlite3",
            "PREDICTION_LOG_SPOOL_DIR": f"{folder}/spool",
        }
        measure_servers(results, arguments, sqlite)
        measure_cold_starts(results, sqlite, folder)
        logs = {"log off": {**sqlite, "PREDICTION_LOG": "false"}}
        writers = {"SQLite": f"sqlite:///{folder}/writer.sqlite3"}
        if postgres := os.environ.get("BENCH_POSTGRES_URL"):
            logs["log on PostgreSQL"] = {**sqlite, "DATABASE_URL": postgres}
            writers["PostgreSQL"] = postgres
        measure_logs(results, arguments, logs)
        for database, url in writers.items():
            results[f"writer {database}"] = log_writer_rate(url, Path(folder) / database)
    report(figures(results, logs, list(writers)), results, logs)


if __name__ == "__main__":
    main()
