"""Slow tier: the model package's DVC pipeline from a fresh bake, as its README runs it."""

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DEFAULTS, bake_ok, clean_environment, readme_block, run, run_as_written

pytestmark = pytest.mark.slow

IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Template Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
STAGES = ("prepare", "train", "evaluate")


def json_in(output: str) -> Any:
    """The JSON document a command printed, whatever tox printed before it."""
    start = re.search(r"^[\[{]", output, re.MULTILINE)
    assert start, output
    return json.JSONDecoder().raw_decode(output[start.start() :])[0]


def runs_of(shown: Any) -> Iterator[dict[str, Any]]:
    """Every run (workspace, commits, experiments) in `dvc exp show --json`, however nested."""
    if isinstance(shown, dict):
        if isinstance(shown.get("data"), dict) and "metrics" in shown["data"]:
            yield shown
        for value in shown.values():
            yield from runs_of(value)
    elif isinstance(shown, list):
        for item in shown:
            yield from runs_of(item)


def committed_metrics_check(project: Path) -> str:
    """The command of the generated CircleCI step that checks the committed metrics."""
    config = yaml.safe_load((project / ".circleci" / "config.yml").read_text())
    steps = [step["run"] for step in config["jobs"]["test_model"]["steps"] if "run" in step]
    (step,) = [
        step for step in steps if isinstance(step, dict) and "metrics.json" in step["command"]
    ]
    return str(step["command"])


def test_dvc_pipeline_experiments_and_diffs(cookies, tmp_path: Path) -> None:
    project = bake_ok(cookies)
    env = clean_environment(**IDENTITY)
    git = ["git", "-C", str(project)]
    run([*git, "init", "-q", "-b", "main"], cwd=project, env=env)
    run([*git, "add", "-A"], cwd=project, env=env)
    run([*git, "commit", "-qm", "Project from mlops-template"], cwd=project, env=env)
    model_dir = project / "model-package"
    dvc = [sys.executable, "-m", "tox", "-qq", "-e", "dvc", "--"]
    # The README's experiment block, line by line as written, with checks between the lines.
    readme = model_dir / "README.md"
    repro, commit, experiment, show, metrics, params, plots = readme_block(readme, "exp run")

    started = time.perf_counter()
    first = run_as_written([repro], model_dir, env).stdout
    repro_seconds = time.perf_counter() - started
    for stage in STAGES:
        assert f"Running stage '{stage}'" in first
    recorded = json.loads((model_dir / "reports" / "metrics.json").read_text())
    (card,) = (model_dir / DEFAULTS["package_name"] / "trained_models").glob("*.json")
    assert json.loads(card.read_text())["metrics"] == recorded
    # CI's check that the committed metrics are the reproduced ones: it fails while they are
    # not committed at all, and passes once they are.
    check = committed_metrics_check(project)
    not_committed = subprocess.run(["bash", "-c", check], cwd=model_dir, env=env, check=False)
    assert not_committed.returncode != 0
    run_as_written([commit], model_dir, env)
    assert run([*git, "status", "--porcelain"], cwd=project, env=env).stdout == ""
    run(["bash", "-c", check], cwd=model_dir, env=env)

    # A clean checkout (no DVC cache, no outputs) reproduces the recorded metrics exactly.
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", project, clone], cwd=tmp_path, env=env)
    run([*dvc, "repro"], cwd=clone / "model-package", env=env)
    reproduced = clone / "model-package" / "reports" / "metrics.json"
    assert json.loads(reproduced.read_text()) == recorded

    started = time.perf_counter()
    run_as_written([experiment], model_dir, env)
    experiment_seconds = time.perf_counter() - started
    (changed,) = re.findall(r" -S \S+:(\S+)=(\S+)$", experiment)
    shown = json_in(run([*dvc, "exp", "show", "--json"], cwd=model_dir, env=env).stdout)
    accuracies = {
        json.dumps(entry["data"]["metrics"]["reports/metrics.json"]["data"]["accuracy"])
        for entry in runs_of(shown)
    }
    assert len(accuracies) == 2, shown  # the baseline and the experiment differ
    table = run_as_written([show], model_dir, env).stdout

    metrics_diff = run_as_written([metrics], model_dir, env).stdout
    assert re.search(r"reports/metrics\.json\s+accuracy\s+[\d.]+\s+[\d.]+", metrics_diff)
    params_diff = run_as_written([params], model_dir, env).stdout
    name, value = map(re.escape, changed)
    assert re.search(rf"{name}\s+1(\.0)?\s+{value}", params_diff), params_diff
    dag = run([*dvc, "dag"], cwd=model_dir, env=env).stdout
    assert all(f"| {stage} |" in dag for stage in STAGES)
    run_as_written([plots], model_dir, env)
    assert (model_dir / "dvc_plots" / "index.html").is_file()
    plotted = json_in(run([*dvc, "plots", "show", "--json"], cwd=model_dir, env=env).stdout)
    drawn = {title for title, data in plotted["data"].items() if data}
    assert drawn == {  # a classifier's three; the regression's scatter has no file to draw
        "ROC curve on the holdout",
        "Calibration on the holdout (observed frequency against predicted probability)",
        "Confusion on the holdout",
    }, plotted["data"].keys()

    again = run([*dvc, "repro"], cwd=model_dir, env=env).stdout
    assert "Running stage" not in again
    assert "Data and pipelines are up to date" in again

    # The README's block that puts the data under DVC, as written, with a remote in $HOME.
    home = tmp_path / "home"
    home.mkdir()
    cache = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")
    tracked = {**env, "HOME": str(home), "UV_CACHE_DIR": cache}
    run_as_written(readme_block(readme, "remote add"), model_dir, tracked)
    assert any((home / "dvc-storage").rglob("*")), "dvc push stored nothing"
    assert run([*git, "status", "--porcelain"], cwd=project, env=env).stdout == ""
    data = model_dir / DEFAULTS["package_name"] / "datasets"
    assert (data / "titanic3.csv.dvc").is_file()
    assert "Data and pipelines are up to date" in run([*dvc, "repro"], model_dir, env).stdout

    print(f"\n{dag}\n{table}\n{metrics_diff}\n{params_diff}")
    print(f"full dvc repro: {repro_seconds:.1f} s; dvc exp run: {experiment_seconds:.1f} s")
