"""The API uses the model package through its public contract only, never its internals.

That is what lets a data scientist replace the model package's example with their own model and
leave this service untouched: the names in the package's `__all__` are the whole interface.
"""

import ast
from pathlib import Path

import {{ cookiecutter.package_name }} as model_package

API_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = model_package.__name__


def imports_of_the_package(path: Path) -> list[tuple[int, str]]:
    """(line, what) for every import of the model package in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == PACKAGE]


def test_only_public_names_are_imported() -> None:
    public = {PACKAGE} | {f"{PACKAGE}.{name}" for name in model_package.__all__}
    offending = [
        f"{path.relative_to(API_ROOT)}:{line}: {name}"
        for folder in ("app", "scripts", "bench", "tests")
        for path in sorted((API_ROOT / folder).rglob("*.py"))
        for line, name in imports_of_the_package(path)
        if name not in public
    ]
    assert not offending, f"use `import {PACKAGE}` and the names in its __all__: {offending}"


def test_the_contract_is_what_it_says() -> None:
    for name in model_package.__all__:
        assert hasattr(model_package, name), name
    assert model_package.InputRecord.model_validate(model_package.EXAMPLE_RECORD)
    if model_package.TASK == "classification":
        assert len(model_package.CLASSES) >= 2
    else:
        assert model_package.CLASSES == ()
