"""Fixtures shared by the template's tests; their helpers are in helpers.py."""

from pathlib import Path

import pytest
from helpers import readme_commands, readme_environment, run

# Files copied into a generated project by test_replace_the_model.py, not tests of this suite.
collect_ignore = ["penguins"]


@pytest.fixture(scope="session")
def baked_project(cookies_session) -> Path:
    """One project baked with the defaults, shared by the slow tests."""
    result = cookies_session.bake()
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


@pytest.fixture(scope="session")
def quick_start(baked_project: Path) -> str:
    """The generated README's quick start, run as written at the project's root (all but its
    last command, `tox -e serve`, which test_readme.py runs): every gate of both parts, the API
    against the wheel the model's gates built. Their output."""
    commands = readme_commands(baked_project / "README.md")
    assert commands[-1] == "tox -e serve", commands
    outputs = [
        run(["bash", "-c", command], cwd=baked_project, env=readme_environment()).stdout
        for command in commands[:-1]
    ]
    return "\n".join(outputs)


@pytest.fixture(scope="session")
def model_wheel(baked_project: Path, quick_start: str) -> Path:
    """The model package's wheel, as the quick start's `tox -e check` built it."""
    (wheel,) = (baked_project / "model-package" / "dist").glob("*.whl")
    return wheel
