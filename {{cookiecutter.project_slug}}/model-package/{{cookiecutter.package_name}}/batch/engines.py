"""The engines that split a table into pieces for score_frame: local, Dask and Spark.

Each reads CSV (every cell as text, as training reads its data) or Parquet (a file or a folder
of them), and writes Parquet through a temporary path that becomes OUTPUT only once the whole job
has succeeded: a failed job leaves no half-written output. The local engine writes one file; Dask
and Spark write a folder of part files. pandas.read_parquet reads either.
"""

import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv
import pyarrow.dataset
import pyarrow.ipc
import pyarrow.parquet
from loguru import logger

from ..predict import load_model
from . import BatchInputError
from .scoring import ERROR, ROW, check_columns, output_schema, score_frame

PROGRESS_EVERY_SECONDS = 5.0
SPARK_PARTITION_SHIFT = 33  # monotonically_increasing_id(): partition index << 33 | row in it
SPARK_ROW_ID = "__row_id"


def is_text(source: str | Path) -> bool:
    """Whether the input is CSV (True) or Parquet: a .parquet or .pq file, or a folder of them."""
    suffix = Path(str(source)).suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq", ""):
        raise BatchInputError(
            f"{source}: unknown format {suffix!r}; give a .csv or .parquet file, or a folder"
        )
    return suffix == ".csv"


def inspect_input(source: Path) -> tuple[pa.Schema, bool]:
    """The input's columns, and whether it is text (CSV); fails early when it cannot be read."""
    from_text = is_text(source)
    if not source.exists():
        raise BatchInputError(f"{source}: no such file or folder")
    try:
        if from_text:
            header = pyarrow.csv.open_csv(source).schema.names
            return pa.schema([(name, pa.string()) for name in header]), True
        if source.is_dir():
            _check_parts(source)
        return pyarrow.dataset.dataset(source, format="parquet").schema, False
    except (pa.ArrowInvalid, OSError) as error:
        raise BatchInputError(f"{source}: cannot be read: {error}") from error


def _check_parts(folder: Path) -> None:
    """Every Parquet file of a folder has the first one's columns: found now, not mid-job."""
    files = _parquet_files(folder)
    names = [set(pyarrow.parquet.read_schema(file).names) for file in files]
    if odd := [file for file, columns in zip(files, names, strict=True) if columns != names[0]]:
        raise BatchInputError(f"{folder}: {odd[0]} has other columns than {files[0]}")


def read_batches(
    source: Path, from_text: bool, columns: list[str], rows: int
) -> Iterator[pa.RecordBatch]:
    """The input in batches of about `rows` rows, reading ahead no more than one of them."""
    if from_text:
        convert = pyarrow.csv.ConvertOptions(
            column_types=dict.fromkeys(columns, pa.string()),
            include_columns=columns,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        read = pyarrow.csv.ReadOptions(block_size=16 << 20)
        buffered: list[pa.RecordBatch] = []
        try:
            for batch in pyarrow.csv.open_csv(source, read_options=read, convert_options=convert):
                buffered.append(batch)
                if sum(part.num_rows for part in buffered) >= rows:
                    yield from _joined(buffered, rows)
                    buffered = []
        except pa.ArrowInvalid as error:  # a ragged line or bytes that are not UTF-8
            raise BatchInputError(f"{source}: cannot be read: {error}") from error
        yield from _joined(buffered, rows)
        return
    for file in _parquet_files(source):
        yield from pyarrow.parquet.ParquetFile(file).iter_batches(batch_size=rows, columns=columns)


def _parquet_files(source: Path) -> list[str]:
    """A Parquet file, or a folder's Parquet files in name order."""
    return sorted(pyarrow.dataset.dataset(source, format="parquet").files)


def _parquet_rows(source: Path) -> int:
    files = _parquet_files(source)
    return sum(pyarrow.parquet.ParquetFile(file).metadata.num_rows for file in files)


def _joined(batches: list[pa.RecordBatch], rows: int) -> list[pa.RecordBatch]:
    if not batches:
        return []
    table = pa.Table.from_batches(batches).combine_chunks()
    joined: list[pa.RecordBatch] = table.to_batches(max_chunksize=rows)
    return joined


def check_output(output: Path, overwrite: bool) -> None:
    """Fail before any work when OUTPUT may not, or cannot, be written."""
    if output.exists() and not overwrite:
        raise BatchInputError(f"{output} exists; pass --overwrite to replace it")
    if output.is_dir() and not _earlier_output(output):
        raise BatchInputError(f"{output} is a folder of other files; --overwrite never removes it")
    if not output.parent.is_dir():
        raise BatchInputError(f"{output.parent}: no such folder for the output")


@contextmanager
def replacing(output: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary path beside OUTPUT that replaces OUTPUT once the block succeeds."""
    check_output(output, overwrite)
    temporary = output.with_name(f".{output.name}.partial-{os.getpid()}")
    try:
        yield temporary
        if output.is_dir():
            shutil.rmtree(output)
        elif output.exists():
            output.unlink()
        os.replace(temporary, output)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)


def need_key_for_folder(source: str | Path, key: str | None) -> None:
    """A folder of files has no one row order that every engine agrees on: rows need a key."""
    folder = source.is_dir() if isinstance(source, Path) else not Path(source).suffix
    if not key and folder:
        raise BatchInputError(
            f"{source}: a folder's rows have no single order to number them by; "
            "give --key COLUMN, a column that identifies each row"
        )


def _earlier_output(folder: Path) -> bool:
    """Whether a folder holds only what Dask or Spark write: Parquet parts and marker files."""
    return all(
        entry.is_file() and (entry.suffix == ".parquet" or entry.name.startswith(("_", ".")))
        for entry in folder.iterdir()
    )


def _key_type(schema: pa.Schema, key: str | None) -> pa.DataType:
    return schema.field(key).type if key else pa.int64()


def _score_batch(
    batch: pa.RecordBatch | pa.Table,
    from_text: bool,
    key: str | None,
    first_row: int,
    schema: pa.Schema,
) -> pa.Table:
    scored = score_frame(batch.to_pandas(), from_text, key, first_row)
    if not key:
        return pa.Table.from_pandas(scored, schema=schema, preserve_index=False)
    # The key straight from Arrow: pandas would make an integer key with gaps a float.
    scores = pa.Table.from_pandas(scored.drop(columns=key), schema=schema.remove(0))
    return scores.add_column(0, schema.field(0), batch.column(key))


def _write_arrow(data: pa.RecordBatch | pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
        writer.write(data)


def _take_arrow(path: Path) -> pa.Table:
    """An Arrow file's table, memory-mapped; the file is removed (the mapping stays valid)."""
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    path.unlink()
    return table


def _score_file(
    path: Path, from_text: bool, key: str | None, first_row: int, schema: pa.Schema
) -> Path:
    """A worker's task: the batch in Arrow file `path` in, the path of its scores out."""
    scores = path.with_suffix(".scores")
    _write_arrow(_score_batch(_take_arrow(path), from_text, key, first_row, schema), scores)
    return scores


def _scored_tables(
    batches: Iterator[pa.RecordBatch],
    from_text: bool,
    key: str | None,
    schema: pa.Schema,
    workers: int,
) -> Iterator[pa.Table]:
    """The batches' scores, in input order, from `workers` processes once there is a second batch.

    Until the workers have started, this process scores the batches itself. At most two batches
    per worker are in flight, so memory stays flat however long the input is.
    """
    first = next(batches, None)
    if first is None:
        return
    yield _score_batch(first, from_text, key, 0, schema)
    rows = first.num_rows
    if workers == 1:
        for batch in batches:
            yield _score_batch(batch, from_text, key, rows, schema)
            rows += batch.num_rows
        return
    # Batches travel as Arrow files in shared memory: pickling them through the pool's pipes
    # costs more than scoring them. Workers are fresh interpreters (spawn): ONNX Runtime
    # sessions do not survive a fork.
    shared_memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with (
        tempfile.TemporaryDirectory(prefix="batch-", dir=shared_memory) as exchange,
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        started = [pool.submit(load_model) for _ in range(workers)]
        pending: deque[pa.Table | Future[Path]] = deque()
        for number, batch in enumerate(batches):
            if all(future.done() for future in started):
                path = Path(exchange, f"{number}.arrow")
                _write_arrow(batch, path)
                pending.append(pool.submit(_score_file, path, from_text, key, rows, schema))
            else:
                pending.append(_score_batch(batch, from_text, key, rows, schema))
            rows += batch.num_rows
            while pending and (isinstance(pending[0], pa.Table) or len(pending) > 2 * workers):
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())


def _result(scores: pa.Table | Future[Path]) -> pa.Table:
    return scores if isinstance(scores, pa.Table) else _take_arrow(scores.result())


def run_local(
    source: Path, output: Path, key: str | None, chunk_rows: int, workers: int, overwrite: bool
) -> tuple[int, int]:
    """Stream the input through score_frame chunk by chunk; (rows, invalid rows)."""
    need_key_for_folder(source, key)
    input_schema, from_text = inspect_input(source)
    columns = check_columns(input_schema.names, str(source), key)
    schema = output_schema(key, _key_type(input_schema, key))
    rows = invalid = 0
    started = reported = time.perf_counter()
    batches = read_batches(source, from_text, columns, chunk_rows)
    total = None if from_text else _parquet_rows(source)  # Parquet's metadata knows; CSV's not
    with (
        replacing(output, overwrite) as temporary,
        pyarrow.parquet.ParquetWriter(temporary, schema) as writer,
    ):
        for table in _scored_tables(batches, from_text, key, schema, workers):
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
    schema = output_schema(key, _key_type(input_schema, key))
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
