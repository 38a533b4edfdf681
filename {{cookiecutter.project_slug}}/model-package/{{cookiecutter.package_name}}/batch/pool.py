"""Scoring a stream of batches with a pool of worker processes (the local engine's --workers),
the batches passed through shared memory as Arrow files."""

import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc

from ..predict import load_model
from .scoring import score_frame


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


def scored_tables(
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
