"""Batch scoring of whole tables, on one machine, Dask or Spark (the command: __main__.py).

Every engine (local, Dask, Spark) hands its pieces of the table to `score_frame`, so the three
score alike. It validates a table column by column with the fields of InputRecord (one pydantic
call per column instead of one per record), builds the features with the add_features that
serving and training use, and runs the same ONNX session. A row a column check flags is then
validated as a record, exactly as make_prediction validates it: its error column holds
make_prediction's errors, and it never aborts the job.
"""


class BatchInputError(ValueError):
    """The input cannot be scored at all; the message says which file and what is wrong."""
