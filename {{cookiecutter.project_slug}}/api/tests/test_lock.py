"""requirements.txt is the lock: exact versions with hashes, meeting everything it was made from."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

API = Path(__file__).resolve().parents[1]
MODEL_PYPROJECT = API.parent / "model-package" / "pyproject.toml"


def locked() -> list[tuple[Requirement, list[str]]]:
    """Each entry of the lock with its hashes."""
    text = (API / "requirements.txt").read_text().replace("\\\n", " ")
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement, *hashes = re.split(r"\s+--hash=", line.strip())
        entries.append((Requirement(requirement), hashes))
    return entries


def wanted() -> list[Requirement]:
    lines = (API / "requirements.in").read_text().splitlines()
    requirements = [Requirement(line) for line in lines if line.strip() and line[0] != "#"]
    if not MODEL_PYPROJECT.is_file():
        pytest.skip(f"{MODEL_PYPROJECT} is not here: the lock also covers the model's dependencies")
    project = tomllib.loads(MODEL_PYPROJECT.read_text())["project"]
    return requirements + [Requirement(line) for line in project["dependencies"]]


def applies(marker: Marker | None) -> bool:
    return marker is None or marker.evaluate()


def test_every_entry_is_exact_and_hashed() -> None:
    entries = locked()
    assert entries
    for requirement, hashes in entries:
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", requirement
        assert hashes, f"{requirement} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", value) for value in hashes), requirement


def test_the_lock_meets_requirements_in_and_the_model_package() -> None:
    """A range changed in requirements.in or the model's pyproject.toml needs `tox -e lock`."""
    versions: dict[str, list[str]] = {}
    for requirement, _ in locked():
        if applies(requirement.marker):
            versions.setdefault(canonicalize_name(requirement.name), []).append(
                next(iter(requirement.specifier)).version
            )
    for requirement in wanted():
        if not applies(requirement.marker):
            continue
        name = canonicalize_name(requirement.name)
        assert len(versions.get(name, [])) == 1, f"{name} is not locked: run tox -e lock"
        (version,) = versions[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock has {name} {version}, outside {requirement}: run tox -e lock"
        )
