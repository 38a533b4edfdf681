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

With a challenger in shadow at share 1.0 (bench/servers.py's stand-in: the same model under another
version), the single-record latency and one worker's throughput are measured again; the
challenger's worker shares the server's CPU, so its CPU time per record scored and its memory are
printed beside them.
"""

import argparse
import gc
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import to_json

from {{ cookiecutter.package_name }} import (
    EXAMPLE_RECORD,
    InputRecord,
    __version__,
    make_prediction,
)

from app.answers import answer_columns, response_items
from app.config import Settings
from app.db import make_engine, migrate
from app.metrics import Metrics
from app.prediction_log import Answered, PredictionLog
from app.prediction_log.ids import new_ids
from app.schemas import PredictionRequest
from bench.load import (
    BATCH,
    BATCH_BURSTS,
    BATCH_REPEAT,
    BATCH_WARMUP,
    PREDICT_PATH,
    THOUSAND,
    batch_requests,
    caught_up,
    percentiles,
    resident_mb,
    rows_per_second,
    sequential,
    throughput,
    timed,
)
from bench.report import Results, figures, report
from bench.servers import (
    API_ROOT,
    SERVICE,
    answers,
    challenger_environment,
    free_port,
    start_command,
    stop,
    uvicorn,
)

BARE = ("bench.bare_app:app", "/echo")
MODEL_ONLY = "/predict"  # on the bare app: the model behind the least a route can do
COLD_STARTS = 3  # of each kind; the median is shown
LARGEST = {"MAX_BATCH_SIZE": str(BATCH)}  # the service takes the 10k-record requests


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
        log.append(Answered(f"bench-{request}", result.model_version, records, answers, 1.0))
    started = time.perf_counter()
    log.start()
    if not log.flush(timeout=600):
        raise RuntimeError("the prediction log did not write the benchmark's rows in 10 minutes")
    elapsed = time.perf_counter() - started
    log.stop()
    engine.dispose()
    return rows / elapsed


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
    command, start_settings = start_command(SERVICE, port, workers=1)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=API_ROOT,
        env={**os.environ, **settings, **start_settings},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # stop() ends its group
    )
    try:
        while answers(port, "/ready", timeout=5) != 200:
            if process.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError(f"the service did not become ready: {command}")
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        stop(process)


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
    for name, (app, path) in (("predict", (SERVICE, PREDICT_PATH)), ("bare", BARE)):
        with uvicorn(app, 1, environment=sqlite | LARGEST) as server:
            port, process = server.port, server.process
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
        with uvicorn(app, 2, environment=sqlite | LARGEST) as server:
            results[f"{name} 2 workers"] = throughput(server.port, path, one, arguments.seconds)


def shadow_scored(port: int) -> float:
    """shadow_records_total{outcome="scored"} from /metrics."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    found = re.search(r'^shadow_records_total\{outcome="scored",reason=""\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_challenger(
    results: Results, arguments: argparse.Namespace, sqlite: dict[str, str], folder: str
) -> None:
    """The service with a challenger in shadow at share 1.0: the champion's latency and
    throughput, and the challenger's CPU per record and memory."""
    root = Path(folder) / "challenger"
    version = f"{__version__}.post1"
    python = challenger_environment(root, version)
    named = root / "challenger.yml"
    named.write_text(f"version: {version}\nshare: 1.0\npairs: 30\nalpha: 0.05\n")
    settings = {
        **sqlite,
        **LARGEST,
        "CHALLENGER_FILE": str(named),
        "CHALLENGER_PYTHON": str(python),
    }
    with uvicorn(SERVICE, 1, environment=settings) as server:
        port, process = server.port, server.process
        shadow = wait_for_challenger(port, process.pid)
        one = arguments.one
        results["challenger"] = percentiles(sequential(port, PREDICT_PATH, one, arguments.requests))
        scored, used = shadow_scored(port), cpu_seconds(shadow)
        results["challenger 1 worker"] = throughput(
            port, PREDICT_PATH, one, arguments.seconds, process.pid
        )
        caught_up(port)
        records = shadow_scored(port) - scored
        results["challenger CPU"] = (cpu_seconds(shadow) - used) / max(records, 1) * 1000
        results["challenger share"] = records / (results["challenger 1 worker"] * arguments.seconds)
        results["challenger memory"] = resident_mb(shadow)


def wait_for_challenger(port: int, server: int) -> int:
    """The pid of the challenger's worker, once /ready says it serves."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", "/ready")
        ready = json.loads(connection.getresponse().read())
        connection.close()
        if ready["challenger"]["state"] == "serving":
            found = subprocess.run(
                ["pgrep", "-P", str(server), "-f", "shadow_worker.py"],
                capture_output=True,
                text=True,
                check=True,
            )
            return int(found.stdout.split()[0])
        time.sleep(0.2)
    raise RuntimeError(f"the challenger did not start serving: {ready['challenger']}")


def measure_logs(results: Results, arguments: argparse.Namespace, logs: dict[str, Any]) -> None:
    """The service with the log off, and with it on PostgreSQL when BENCH_POSTGRES_URL is set."""
    for name, settings in logs.items():
        if settings["DATABASE_URL"].startswith("postgres"):
            migrate_command = [sys.executable, "-m", "app.migrate"]
            subprocess.run(
                migrate_command, cwd=API_ROOT, env={**os.environ, **settings}, check=True
            )
        with uvicorn(SERVICE, 1, environment=settings | LARGEST) as server:
            port, process = server.port, server.process
            one = arguments.one
            results[name] = percentiles(sequential(port, PREDICT_PATH, one, arguments.requests))
            per_second = throughput(port, PREDICT_PATH, one, arguments.seconds, process.pid)
            results[f"{name} 1 worker"] = per_second
            rate, backlog = batch_requests(port, arguments.batch_body)
            results[f"{name} batch rate"], results[f"{name} log"] = rate, backlog


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
        measure_challenger(results, arguments, sqlite, folder)
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
