"""Saving and loading the versioned model artifacts and their metadata.

Each version has five files: the scikit-learn pipeline (joblib; the training artifact and the
reference), the same pipeline as ONNX (what serving runs), the metadata (JSON) and the model card
made from it (HTML and Markdown).
"""

import os
import tempfile
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import onnxruntime

from ._version import __version__
from .config import TRAINED_MODEL_DIR, config
from .results import ModelMetadata

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

SUFFIXES = (".joblib", ".onnx", ".json", ".html", ".md")
CARD_SUFFIXES = {"html": ".html", "markdown": ".md"}


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
    card: tuple[str, str],
    directory: Path = TRAINED_MODEL_DIR,
) -> Path:
    """Write the artifacts, metadata and card (HTML, Markdown) of metadata.version, then remove
    older versions' files."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    stem = artifact_stem(metadata.version)
    model_path = directory / f"{stem}.joblib"
    _write_atomically(model_path, lambda path: joblib.dump(pipeline, path))
    _write_atomically(directory / f"{stem}.onnx", lambda path: path.write_bytes(onnx_model))
    save_metadata(metadata, card, directory)
    for suffix in SUFFIXES:
        for old in directory.glob(f"*{suffix}"):
            if old.name != f"{stem}{suffix}":
                old.unlink()
    return model_path


def save_metadata(
    metadata: ModelMetadata, card: tuple[str, str], directory: Path = TRAINED_MODEL_DIR
) -> None:
    """Write the metadata and the card made from it (the gate records its decision here)."""
    stem = artifact_stem(metadata.version)
    texts = (metadata.model_dump_json(indent=2) + "\n", *card)
    for suffix, text in zip((".json", ".html", ".md"), texts, strict=True):
        _write_atomically(directory / f"{stem}{suffix}", partial(Path.write_text, data=text))
    load_metadata.cache_clear()


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


def load_card(
    kind: Literal["html", "markdown"] = "html",
    version: str = __version__,
    directory: Path = TRAINED_MODEL_DIR,
) -> str:
    """The model card of `version`: a self-contained HTML page, or Markdown."""
    return _artifact(CARD_SUFFIXES[kind], version, directory).read_text(encoding="utf-8")
