"""Fixtures shared by the template's tests; their helpers are in helpers.py."""

import os
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    RAN_AS_WRITTEN,
    not_run_as_written,
    readme_block,
    readme_commands,
    readme_environment,
    run_as_written,
)

# Files copied into a generated project by test_replace_the_model.py, not tests of this suite.
collect_ignore = ["penguins"]
READMES = ("README.md", "model-package/README.md", "api/README.md")
# The default bake's README commands, read when a test bakes it (the bake is gone by the end).
DEFAULT_COMMANDS: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole slow tier, passed: every command of the default bake's READMEs ran as
    written, or NOT_RUN_HERE says why not. The list, with the test that ran each, is printed."""
    options = session.config.option
    whole = session.config.args_source == pytest.Config.ArgsSource.TESTPATHS
    narrowed = options.keyword or getattr(options, "lf", False) or options.deselect
    # Off CI a missing system program skips the commands that need it.
    required = os.environ.get("REQUIRE_SYSTEM_PROGRAMS") == "1"
    if not (DEFAULT_COMMANDS and whole and options.markexpr == "slow" and not narrowed):
        return
    commands = DEFAULT_COMMANDS
    reporter: Any = session.config.pluginmanager.get_plugin("terminalreporter")
    reporter.write_sep("=", "README commands run as written")
    for command, test in RAN_AS_WRITTEN.items():
        reporter.write_line(f"{test}: {command}")
    if exitstatus == 0 and required and (left := not_run_as_written(commands)):
        reporter.write_sep("=", "README commands neither run as written nor excused", red=True)
        for command in left:
            reporter.write_line(command)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def baked_project(cookies_session) -> Path:
    """One project baked with the defaults, shared by the slow tests."""
    result = cookies_session.bake()
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    DEFAULT_COMMANDS.extend(c for name in READMES for c in readme_commands(project / name))
    return project


@pytest.fixture(scope="session")
def quick_start(baked_project: Path) -> str:
    """The generated README's quick start block, run as written at the project's root (its
    `tox -e serve` is test_readme.py's): every gate of both parts, the API against the wheel the
    model's gates built. Their output."""
    commands = readme_block(baked_project / "README.md", "tox -e check")
    return run_as_written(commands, cwd=baked_project, env=readme_environment()).stdout


@pytest.fixture(scope="session")
def model_wheel(baked_project: Path, quick_start: str) -> Path:
    """The model package's wheel, as the quick start's `tox -e check` built it."""
    (wheel,) = (baked_project / "model-package" / "dist").glob("*.whl")
    return wheel
