"""Every place that names the project's Python names the same one: api/.python-version's (which
Railway reads). Change it there, then in each place this test lists."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_place_names_the_same_python() -> None:
    version = (ROOT / "api" / ".python-version").read_text(encoding="utf-8").strip()
    named: dict[str, set[str]] = {}
    for part in ("model-package", "api"):
        settings = tomllib.loads((ROOT / part / "pyproject.toml").read_text(encoding="utf-8"))
        target = settings["tool"]["ruff"]["target-version"].removeprefix("py")
        named[f"{part}/pyproject.toml [tool.ruff]"] = {f"{target[0]}.{target[1:]}"}
        named[f"{part}/pyproject.toml [tool.mypy]"] = {settings["tool"]["mypy"]["python_version"]}
        tox = (ROOT / part / "tox.ini").read_text(encoding="utf-8")
        named[f"{part}/tox.ini"] = set(re.findall(r"base_python = python(\d+\.\d+)", tox))
    package = tomllib.loads((ROOT / "model-package" / "pyproject.toml").read_text("utf-8"))
    named["model-package requires-python"] = {package["project"]["requires-python"][2:]}
    dockerfile = (ROOT / "api" / "Dockerfile").read_text(encoding="utf-8")
    named["api/Dockerfile"] = set(re.findall(r"^FROM python:(\d+\.\d+)", dockerfile, re.M))
    circleci = (ROOT / ".circleci" / "config.yml").read_text(encoding="utf-8")
    named[".circleci/config.yml"] = set(re.findall(r"cimg/python:(\d+\.\d+)", circleci))
    wrong = {place: found for place, found in named.items() if found != {version}}
    assert not wrong, f"api/.python-version says {version}; these say otherwise: {wrong}"
