"""Reading the input tables and writing the output: CSV (every cell as text, as training reads its
data) or Parquet (a file or a folder of them) in; Parquet out, through a temporary path that
becomes OUTPUT only once the whole job has succeeded, so a failed job leaves no half-written
output."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.dataset
import pyarrow.parquet

from . import BatchInputError


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


def parquet_rows(source: Path) -> int:
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


def key_type(schema: pa.Schema, key: str | None) -> pa.DataType:
    return schema.field(key).type if key else pa.int64()
