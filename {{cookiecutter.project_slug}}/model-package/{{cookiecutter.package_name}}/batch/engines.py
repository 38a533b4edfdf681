"""The engines that split a table into pieces for score_frame: local, Dask and Spark.

The local engine writes one file; Dask and Spark write a folder of part files. pandas.read_parquet
reads either. Input and output are tables.py's; the local engine's worker processes, pool.py's.
"""

import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet
from loguru import logger

from . import BatchInputError
from .pool import scored_tables
from .scoring import ERROR, ROW, check_columns, output_schema, score_frame
from .tables import (
    check_output,
    inspect_input,
    is_text,
    key_type,
    need_key_for_folder,
    parquet_rows,
    read_batches,
    replacing,
)

PROGRESS_EVERY_SECONDS = 5.0
SPARK_PARTITION_SHIFT = 33  # monotonically_increasing_id(): partition index << 33 | row in it
SPARK_ROW_ID = "__row_id"


def run_local(
    source: Path, output: Path, key: str | None, chunk_rows: int, workers: int, overwrite: bool
) -> tuple[int, int]:
    """Stream the input through score_frame chunk by chunk; (rows, invalid rows)."""
    need_key_for_folder(source, key)
    input_schema, from_text = inspect_input(source)
    columns = check_columns(input_schema.names, str(source), key)
    schema = output_schema(key, key_type(input_schema, key))
    rows = invalid = 0
    started = reported = time.perf_counter()
    batches = read_batches(source, from_text, columns, chunk_rows)
    total = None if from_text else parquet_rows(source)  # Parquet's metadata knows; CSV's not
    with (
        replacing(output, overwrite) as temporary,
        pyarrow.parquet.ParquetWriter(temporary, schema) as writer,
    ):
        for table in scored_tables(batches, from_text, key, schema, workers):
            writer.write_table(table)
            rows += table.num_rows
            invalid += table.num_rows - table.column(ERROR).null_count
            if (now := time.perf_counter()) - reported >= PROGRESS_EVERY_SECONDS:
                done = f" of {total:,} ({rows / total:.0%})" if total else ""
                rate = rows / (now - started)
                logger.info("{:,} rows{} scored, {:,.0f} rows/s", rows, done, rate)
                reported = now
    return rows, invalid


def run_dask(
    source: Path, output: Path, key: str | None, scheduler: str | None, overwrite: bool
) -> tuple[int, int]:
    """Score the partitions on a Dask cluster: SCHEDULER's, or a local one of 2 workers."""
    import dask
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    need_key_for_folder(source, key)
    input_schema, from_text = inspect_input(source)
    columns = check_columns(input_schema.names, str(source), key)
    schema = output_schema(key, key_type(input_schema, key))
    check_output(output, overwrite)  # before starting a cluster
    with ExitStack() as stack:
        cluster = None
        if not scheduler:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
            stack.enter_context(cluster)
        client = stack.enter_context(Client(scheduler or cluster))
        temporary = stack.enter_context(replacing(output, overwrite))
        logger.info("Dask dashboard: {}", client.dashboard_link)
        if from_text:
            table = dd.read_csv(source, dtype=str, keep_default_na=False, na_filter=False)
        else:
            table = dd.read_parquet(source, columns=columns, split_row_groups=True)
        # At least two partitions per worker, or a file of one row group would keep one busy.
        workers = max(len(client.scheduler_info()["workers"]), 1)
        if table.npartitions < 2 * workers:
            table = table.repartition(npartitions=2 * workers)
        parts = table[columns].to_delayed()
        # Row numbers continue across partitions: each starts where the ones before it end.
        lengths = dask.compute(*(dask.delayed(len)(part) for part in parts)) if not key else []
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(int).tolist()
        scored = [
            dask.delayed(score_frame)(part, from_text, key, starts[index] if not key else 0)
            for index, part in enumerate(parts)
        ]
        meta = score_frame(input_schema.empty_table().to_pandas()[columns], from_text, key)
        dd.from_delayed(scored, meta=meta, verify_meta=False).to_parquet(
            temporary, schema=schema, write_index=False
        )
        written = pd.read_parquet(temporary, columns=[ERROR])
    return len(written), int(written[ERROR].notna().sum())


def run_spark(
    source: str, output: str, key: str | None, master: str | None, overwrite: bool
) -> tuple[int, int]:
    """Score the partitions with mapInPandas (Arrow) on Spark: MASTER, or spark-submit's.

    SOURCE and OUTPUT may be anything Spark reads and writes (s3a://, abfss://, hdfs://, a path).
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.errors import AnalysisException
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F  # noqa: N812 (Spark's own convention)
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import StructField, StructType

    from_text = is_text(source)
    need_key_for_folder(source, key)
    ours = SparkSession.getActiveSession() is None  # stop only a session this job started
    builder = SparkSession.builder.appName(f"{__package__} batch scoring")
    spark = (builder.master(master) if master else builder).getOrCreate()
    try:
        try:
            if from_text:  # every cell as text (an empty one is missing), quotes as RFC 4180
                table = spark.read.csv(source, header=True, escape='"')
            else:
                table = spark.read.parquet(source)
        except AnalysisException as error:
            raise BatchInputError(f"{source}: cannot be read: {error.getMessage()}") from error
        columns = check_columns(table.columns, source, key)
        fields = [StructField(f.name, from_arrow_type(f.type)) for f in output_schema(key)]
        if key:
            fields[0] = StructField(key, table.schema[key].dataType)
        table = table.select([F.col(f"`{name}`") for name in columns])
        offsets = np.zeros(1, dtype=np.int64)
        if not key:
            table = table.withColumn(SPARK_ROW_ID, F.monotonically_increasing_id())
            counts: dict[int, int] = dict(
                table.groupBy(F.shiftright(SPARK_ROW_ID, SPARK_PARTITION_SHIFT).alias("part"))
                .count()
                .collect()
            )
            sizes = [counts.get(part, 0) for part in range(max(counts, default=0) + 1)]
            offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        # Every core busy, even on a file of one row group; each row keeps its own id. (Spark
        # Connect, Databricks' shared clusters, has no RDDs: it plans partitions itself.)
        if not type(spark).__module__.startswith("pyspark.sql.connect"):
            parallelism = spark.sparkContext.defaultParallelism
            if table.rdd.getNumPartitions() < parallelism:
                table = table.repartition(parallelism)

        def score(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for frame in frames:
                scored = score_frame(frame, from_text, key)
                if not key:
                    ids = frame[SPARK_ROW_ID].to_numpy(dtype=np.int64)
                    mask = (1 << SPARK_PARTITION_SHIFT) - 1
                    scored[ROW] = offsets[ids >> SPARK_PARTITION_SHIFT] + (ids & mask)
                yield scored

        # Spark commits the output when every task has succeeded (with a _SUCCESS marker); with
        # --overwrite it removes the old output as the write starts.
        writer = table.mapInPandas(score, StructType(fields)).write
        try:
            writer.mode("overwrite" if overwrite else "errorifexists").parquet(output)
        except AnalysisException as error:
            raise BatchInputError(f"{output}: {error.getMessage()}; pass --overwrite") from error
        totals = spark.read.parquet(output).agg(F.count(F.lit(1)), F.count(ERROR)).first()
    finally:
        if ours:
            spark.stop()
    return int(totals[0]), int(totals[1])
