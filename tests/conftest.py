"""Shared helpers for the template's tests."""

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "project_slug": "titanic-survival",
    "package_name": "titanic_survival_model",
    "distribution_name": "titanic-survival-model",
}


def run(
    command: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure the test fails with its whole output."""
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env or clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode:
        pytest.fail(
            f"{command} exited {completed.returncode}\n"
            f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}"
        )
    return completed


def clean_environment(**extra: str) -> dict[str, str]:
    """The environment without the outer tox run's variables, which would confuse an inner tox."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TOX_") and key not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    return {**environment, **extra}


def python_in(venv: Path) -> Path:
    return venv / "bin" / "python"


def make_venv(path: Path, *requirements: str | Path) -> Path:
    """A fresh virtual environment made (and filled) by uv: seconds instead of pip's half-minute."""
    uv = (sys.executable, "-m", "uv")
    run([*uv, "venv", "--quiet", "--python", sys.executable, path], cwd=path.parent)
    if requirements:
        run(
            [*uv, "pip", "install", "--quiet", "--python", python_in(path), *requirements],
            cwd=path.parent,
        )
    return path


@pytest.fixture(scope="session")
def baked_project(cookies_session) -> Path:
    """One project baked with the defaults, shared by the slow tests."""
    result = cookies_session.bake()
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


@pytest.fixture(scope="session")
def model_wheel(baked_project: Path) -> Path:
    """The model package's wheel, built by its own `tox -e build` (train, build, twine check)."""
    package_dir = baked_project / "model-package"
    run([sys.executable, "-m", "tox", "-e", "build"], cwd=package_dir)
    (wheel,) = (package_dir / "dist").glob("*.whl")
    return wheel
