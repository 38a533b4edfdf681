"""Shared helpers for the template's tests."""

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
# The demo's steps and helpers are the tests' too (tests/test_private_index.py runs them).
sys.path.insert(0, str(TEMPLATE / "demo"))
import golden_path  # noqa: E402
from golden_path import clean_environment  # noqa: E402, F401 - shared with the test modules

# Files copied into a generated project by test_replace_the_model.py, not tests of this suite.
collect_ignore = ["penguins"]

DEFAULTS = {
    "project_slug": "titanic-survival",
    "package_name": "titanic_survival_model",
    "distribution_name": "titanic-survival-model",
}


def run(
    command: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """The demo's run(); on failure the test fails with the command's whole output."""
    try:
        return golden_path.run(command, cwd, env, timeout)
    except golden_path.StepFailed as error:
        pytest.fail(str(error))


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
