"""Saving and loading the versioned model artifacts and their metadata.

Each version has three files: the scikit-learn pipeline (joblib; the training artifact and the
reference), the same pipeline as ONNX (what serving runs) and the metadata (JSON).
"""

import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import onnxruntime

from ._version import __version__
from .config import TRAINED_MODEL_DIR, config
from .schemas import ModelMetadata

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

SUFFIXES = (".joblib", ".onnx", ".json")


class ModelNotTrainedError(FileNotFoundError):
    """No artifact for this package version: the model has not been trained yet."""


def artifact_stem(version: str = __version__) -> str:
    return f"{config.artifact.name}_v{version}"


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, so a crash never leaves half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_model(
    pipeline: "Pipeline",
    onnx_model: bytes,
    metadata: ModelMetadata,
    directory: Path = TRAINED_MODEL_DIR,
) -> Path:
    """Write the artifacts and metadata of metadata.version, then remove older ones."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    stem = artifact_stem(metadata.version)
    written = [directory / f"{stem}{suffix}" for suffix in SUFFIXES]
    model_path, onnx_path, metadata_path = written
    _write_atomically(model_path, lambda path: joblib.dump(pipeline, path))
    _write_atomically(onnx_path, lambda path: path.write_bytes(onnx_model))
    card = metadata.model_dump_json(indent=2) + "\n"
    _write_atomically(metadata_path, lambda path: path.write_text(card, encoding="utf-8"))
    for suffix in SUFFIXES:
        for old in directory.glob(f"*{suffix}"):
            if old not in written:
                old.unlink()
    return model_path


def _artifact(suffix: str, version: str, directory: Path) -> Path:
    path = directory / f"{artifact_stem(version)}{suffix}"
    if not path.is_file():
        raise ModelNotTrainedError(
            f"{path}: no trained model for version {version}; train it with `tox -e train`"
        )
    return path


@cache
def load_pipeline(version: str = __version__, directory: Path = TRAINED_MODEL_DIR) -> "Pipeline":
    """The fitted scikit-learn pipeline of `version` (needs the `train` extra)."""
    import joblib

    pipeline: Pipeline = joblib.load(_artifact(".joblib", version, directory))
    return pipeline


@cache
def load_session(
    version: str = __version__, directory: Path = TRAINED_MODEL_DIR
) -> onnxruntime.InferenceSession:
    """The ONNX Runtime session that serves `version`, loaded once per process.

    One thread per session: a web server scales with worker processes, and small batches are
    faster without thread hand-offs.
    """
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    path = _artifact(".onnx", version, directory)
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


@cache
def load_metadata(version: str = __version__, directory: Path = TRAINED_MODEL_DIR) -> ModelMetadata:
    """The metadata written beside the artifacts of `version`."""
    path = _artifact(".json", version, directory)
    return ModelMetadata.model_validate_json(path.read_text(encoding="utf-8"))
