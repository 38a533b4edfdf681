"""Score a table with the packaged model, and write the scores as Parquet.

    python -m {{ cookiecutter.package_name }}.batch INPUT OUTPUT [--engine ENGINE]

INPUT is CSV or Parquet (a file, or a folder of Parquet files); OUTPUT is Parquet. Each output row
has the input's --key column (or its row number, from 0), the predicted label and the probability
of every class (a regression: the prediction and its interval's lower and upper ends), the model
version and an error, empty unless the row was invalid.
"""

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from loguru import logger

from .._version import __version__
from ..columns import FeatureError
from ..persistence import ModelNotTrainedError
from ..predict import ModelMismatchError, load_model
from . import BatchInputError

CHUNK_ROWS = 100_000
EXTRAS = {"local": "batch", "dask": "dask", "spark": "spark"}  # pyproject.toml
ENGINE_MODULES = {"pandas", "pyarrow", "dask", "distributed", "pyspark"}


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="CSV or Parquet file, or a folder of Parquet files")
    parser.add_argument("output", help="Parquet file (local engine) or folder (dask, spark)")
    parser.add_argument("--engine", choices=["local", "dask", "spark"], default="local")
    parser.add_argument("--key", help="input column to copy to the output (default: row number)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    parser.add_argument(
        "--chunk-rows", type=int, default=CHUNK_ROWS, help="rows per chunk (local engine)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes that score chunks (local engine); starting them costs about 1.5 s "
        "each, so more than 1 pays off on inputs of millions of rows",
    )
    parser.add_argument("--scheduler", help="Dask scheduler address (default: a local cluster)")
    parser.add_argument("--master", help="Spark master URL (default: spark-submit's, or local)")
    options = parser.parse_args(arguments)
    if options.chunk_rows < 1 or options.workers < 1:
        parser.error("--chunk-rows and --workers must be at least 1")
    logger.enable(__package__ or "")
    started = time.perf_counter()
    try:
        from .engines import run_dask, run_local, run_spark

        load_model()  # a missing or mismatched model fails here, before any work
        if options.engine == "local":
            rows, invalid = run_local(
                Path(options.input),
                Path(options.output),
                options.key,
                options.chunk_rows,
                options.workers,
                options.overwrite,
            )
        elif options.engine == "dask":
            rows, invalid = run_dask(
                Path(options.input),
                Path(options.output),
                options.key,
                options.scheduler,
                options.overwrite,
            )
        else:
            rows, invalid = run_spark(
                options.input, options.output, options.key, options.master, options.overwrite
            )
    except (BatchInputError, FeatureError, ModelNotTrainedError, ModelMismatchError) as error:
        logger.error("Batch scoring failed: {}", error)
        sys.exit(2)
    except BrokenProcessPool as error:
        logger.error("Batch scoring failed: a worker process died ({}); out of memory?", error)
        sys.exit(2)
    except ImportError as error:
        if (error.name or "").partition(".")[0] not in ENGINE_MODULES:
            raise
        logger.error("Batch scoring needs the [{}] extra: {}", EXTRAS[options.engine], error)
        sys.exit(2)
    seconds = time.perf_counter() - started
    logger.success(
        "Scored {:,} rows ({:,} invalid) with model {} in {:.1f} s ({:,.0f} rows/s): {}",
        rows,
        invalid,
        __version__,
        seconds,
        rows / seconds if seconds else 0,
        options.output,
    )


if __name__ == "__main__":
    main()
