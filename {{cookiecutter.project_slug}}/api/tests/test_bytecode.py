"""scripts/install.py (the build of every deployment, and of these tests' environment) writes the
bytecode of the environment: a new process compiles none of what it imports."""

import importlib.metadata
import importlib.util
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import DISTRIBUTION


@pytest.mark.parametrize("distribution", [DISTRIBUTION, "uvicorn", "pydantic", "hypothesis"])
def test_every_installed_module_has_its_bytecode(distribution: str) -> None:
    """The model package and the locked service's dependencies (installed by install.py), and a
    test tool (installed before it, by tox): every module, imported by a test or not."""
    found = importlib.metadata.distribution(distribution)
    sources = [Path(str(found.locate_file(file))) for file in found.files or []]
    modules = [path for path in sources if path.suffix == ".py"]
    missing = [
        str(path) for path in modules if not Path(importlib.util.cache_from_source(path)).is_file()
    ]
    assert modules
    assert not missing, f"{len(missing)} of {len(modules)} modules without bytecode: {missing[:3]}"
