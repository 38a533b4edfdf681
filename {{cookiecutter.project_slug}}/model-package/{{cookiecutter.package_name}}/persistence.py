"""Saving and loading the versioned model artifact and its metadata."""

import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import joblib
from sklearn.pipeline import Pipeline

from . import __version__
from .config import TRAINED_MODEL_DIR, config
from .schemas import ModelMetadata


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
    pipeline: Pipeline, metadata: ModelMetadata, directory: Path = TRAINED_MODEL_DIR
) -> Path:
    """Write the artifact and its metadata for metadata.version, then remove older ones."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = artifact_stem(metadata.version)
    model_path = directory / f"{stem}.joblib"
    metadata_path = directory / f"{stem}.json"
    _write_atomically(model_path, lambda path: joblib.dump(pipeline, path))
    _write_atomically(
        metadata_path, lambda path: path.write_text(metadata.model_dump_json(indent=2) + "\n")
    )
    for old in [*directory.glob("*.joblib"), *directory.glob("*.json")]:
        if old not in (model_path, metadata_path):
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
def load_pipeline(version: str = __version__, directory: Path = TRAINED_MODEL_DIR) -> Pipeline:
    """The fitted pipeline of `version`, loaded once per process."""
    pipeline: Pipeline = joblib.load(_artifact(".joblib", version, directory))
    return pipeline


@cache
def load_metadata(version: str = __version__, directory: Path = TRAINED_MODEL_DIR) -> ModelMetadata:
    """The metadata written beside the artifact of `version`."""
    path = _artifact(".json", version, directory)
    return ModelMetadata.model_validate_json(path.read_text(encoding="utf-8"))
