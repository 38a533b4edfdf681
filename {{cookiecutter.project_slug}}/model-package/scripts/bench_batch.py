"""Batch scoring benchmark (`tox -e bench_batch`): rows/s of every engine, in one run, one table.

The rows are drawn with replacement from the training data, so they follow its distribution. Each
rate counts the scoring itself; what an engine pays once (imports and the model, a Dask cluster,
Spark's JVM) is measured on its own and printed beside it. Ratios compare like with like: every
figure comes from this run on this machine.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from {{ cookiecutter.package_name }} import make_prediction
from {{ cookiecutter.package_name }}.batch.engines import run_dask, run_spark
from {{ cookiecutter.package_name }}.config import DATASET_DIR, config
from {{ cookiecutter.package_name }}.data import load_dataset, to_records
from {{ cookiecutter.package_name }}.results import INPUT_FIELDS

PER_RECORD_CHUNK = 10_000  # records per make_prediction call, as an API batch would send them
# Run in a fresh interpreter: argv = input, output, workers; prints one JSON line.
MEASURE_LOCAL = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from {{ cookiecutter.package_name }} import load_model
from {{ cookiecutter.package_name }}.batch.engines import run_local
load_model()
ready = time.perf_counter()
run_local(Path(sys.argv[1]), Path(sys.argv[2]), None, 100_000, int(sys.argv[3]), True)
done = time.perf_counter()
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps(dict(
    start=ready - started,
    seconds=done - ready,
    peak_mb=int(status["VmHWM"].split()[0]) / 1024,  # this process's own high-water mark
)))
"""


def synthetic(rows: int, path: Path) -> pd.DataFrame:
    """`rows` rows drawn with replacement from the training data's inputs, written as Parquet."""
    data = load_dataset(DATASET_DIR / config.data.file, config.data)[list(INPUT_FIELDS)]
    frame = data.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    frame.to_parquet(path, index=False, row_group_size=100_000)  # as Spark or Dask would write
    return frame


def local(source: Path, output: Path, workers: int) -> dict[str, float]:
    """The local engine in a fresh process, so its start-up and peak memory are its own."""
    command = [sys.executable, "-c", MEASURE_LOCAL, str(source), str(output), str(workers)]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def per_record_seconds(records: list[dict[str, Any]]) -> float:
    """make_prediction over all records, as an API would get them: validated record by record."""
    make_prediction(records[:PER_RECORD_CHUNK])  # load the model outside the timing
    started = time.perf_counter()
    for start in range(0, len(records), PER_RECORD_CHUNK):
        make_prediction(records[start : start + PER_RECORD_CHUNK])
    return time.perf_counter() - started


def timed(function: object, *arguments: object) -> float:
    started = time.perf_counter()
    function(*arguments)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    options = parser.parse_args()
    rows = options.rows
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
        work = Path(folder)
        frame = synthetic(rows, work / "rows.parquet")
        synthetic(4 * rows, work / "rows4.parquet")
        per_record = per_record_seconds(to_records(frame))
        one = local(work / "rows.parquet", work / "out1.parquet", 1)
        two = local(work / "rows.parquet", work / "out2.parquet", 2)
        four = local(work / "rows4.parquet", work / "out4.parquet", 1)
        four_two = local(work / "rows4.parquet", work / "out42.parquet", 2)

        from dask.distributed import Client, LocalCluster

        started = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
            Client(cluster).close()
        dask_start = time.perf_counter() - started
        dask_seconds = timed(run_dask, work / "rows.parquet", work / "dask", None, None, True)

        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # as run_spark does
        started = time.perf_counter()
        session = SparkSession.builder.master("local[2]").getOrCreate()
        session.range(1).count()
        spark_start = time.perf_counter() - started
        session.stop()  # the JVM stays up for the run below
        spark_seconds = timed(
            run_spark, str(work / "rows.parquet"), str(work / "spark"), None, "local[2]", True
        )

    base = rows / per_record
    table = [
        ("per-record make_prediction", per_record, 0.0),
        ("local engine, 1 process", one["seconds"], one["start"]),
        ("local engine, 2 processes (--workers 2)", two["seconds"], two["start"]),
        ("local engine, 1 process, 4x the rows (per 1x)", four["seconds"] / 4, four["start"]),
        ("local engine, 2 processes, 4x the rows (per 1x)", four_two["seconds"] / 4, 0.0),
        ("Dask, 2 workers (LocalCluster)", dask_seconds, dask_start),
        ("Spark local[2] (mapInPandas)", spark_seconds, spark_start),
    ]
    print(f"\nBatch scoring of {rows:,} synthetic rows (Parquet in, Parquet out)\n")
    print("| engine | seconds | rows/s | ratio to per-record | start-up s |")
    print("| --- | --- | --- | --- | --- |")
    for name, seconds, start in table:
        rate = rows / seconds
        print(f"| {name} | {seconds:.2f} | {rate:,.0f} | {rate / base:.2f} | {start:.1f} |")
    print(
        "\nThe local engine's seconds exclude its start-up (imports, model). Dask's include"
        " starting its own LocalCluster, which the start-up column measures alone; Spark's"
        " include a new session on the JVM the start-up column started."
    )
    print("\nPeak memory (VmHWM) of the local engine's own process, in MB\n")
    print("| rows | 1 process | 2 processes (main only) |")
    print("| --- | --- | --- |")
    for count, single, double in ((rows, one, two), (4 * rows, four, four_two)):
        print(f"| {count:,} | {single['peak_mb']:.0f} | {double['peak_mb']:.0f} |")
    ratio = four["peak_mb"] / one["peak_mb"]
    print(f"\n4x the rows: {ratio:.2f}x the memory in 1 process (target: at most 1.2x)")


if __name__ == "__main__":
    main()
