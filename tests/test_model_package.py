"""Slow tier: the baked model package's own gates, then its wheel in a clean environment."""

import json
import os
from pathlib import Path

import pytest
from helpers import (
    DEFAULTS,
    make_venv,
    python_in,
    readme_block,
    readme_environment,
    run,
    run_as_written,
    system_program,
)

pytestmark = pytest.mark.slow

PREDICT = """
import json
import titanic_survival_model as model
result = model.make_prediction([model.EXAMPLE_RECORD, {"pclass": 7}])
metrics = model.load_model().metrics
print(json.dumps({"result": result.model_dump(), "metrics": metrics.model_dump()}))
"""


def test_tox_gates_pass(baked_project: Path, quick_start: str) -> None:
    """The package's gates (the quick start ran them), then its README's commands as written in
    model-package/: its tests, training, the build, lint and types, format, and the batch scorer
    on Dask and Spark local[2] (test_engines)."""
    for gate in ("lint", "typecheck", "test_package", "build"):
        assert f"  {gate}: OK" in quick_start
    assert "model report" in quick_start
    package_dir = baked_project / "model-package"
    commands = readme_block(package_dir / "README.md", "tox -e test_engines")
    # Spark needs Java: a machine without it runs the rest (CI, which has it, requires it).
    java = system_program("java", "openjdk-17-jre-headless")
    skipped = {"tox -e bench_batch", *([] if java else ["tox -e test_engines"])}
    wanted = [command for command in commands if command not in skipped]
    done = run_as_written(wanted, package_dir, readme_environment())
    assert "congratulations :)" in done.stdout


def test_wheel_predicts_from_a_clean_environment(model_wheel: Path, tmp_path: Path) -> None:
    assert model_wheel.name == "titanic_survival_model-0.1.0-py3-none-any.whl"
    venv = make_venv(tmp_path / "venv", model_wheel)
    output = json.loads(run([python_in(venv), "-c", PREDICT], cwd=tmp_path).stdout)
    result = output["result"]
    assert result["model_version"] == "0.1.0"
    assert result["labels"][0] == "survived"
    assert 0.5 < result["probabilities"][0]["survived"] < 1
    assert result["labels"][1] is None
    assert {error["index"] for error in result["errors"]} == {1}
    assert output["metrics"]["roc_auc"] >= 0.84
    assert output["metrics"]["accuracy"] >= 0.75
    print(f"holdout metrics of {DEFAULTS['distribution_name']}: {output['metrics']}")


BATCH_SUMMARY = """
import sys
import pyarrow.parquet as pq
scores = pq.read_table(sys.argv[1]).to_pydict()
print(len(scores["row"]), sum(error is not None for error in scores["error"]), sorted(scores)[:3])
"""


def test_batch_scorer_runs_from_the_wheel_with_its_extra(
    model_wheel: Path, baked_project: Path, tmp_path: Path
) -> None:
    """The README's batch command, in a clean environment of the wheel and its [batch] extra."""
    venv = make_venv(tmp_path / "venv", f"{model_wheel}[batch]")
    package = DEFAULTS["package_name"]
    data = baked_project / "model-package" / package / "datasets" / "titanic3.csv"
    command = f"{DEFAULTS['distribution_name']}-batch"
    scorer = venv / "bin" / command
    done = run([scorer, data, tmp_path / "scores.parquet"], cwd=tmp_path)
    assert "Scored 1,309 rows (0 invalid)" in done.stderr
    summary = run([python_in(venv), "-c", BATCH_SUMMARY, tmp_path / "scores.parquet"], cwd=tmp_path)
    assert summary.stdout.split()[:2] == ["1309", "0"]


def test_the_batch_guide_runs_as_written(
    model_wheel: Path, baked_project: Path, tmp_path: Path
) -> None:
    """The README's batch scoring block, as written in model-package/, with `python` a fresh
    environment's (its dependencies put there first, so pip only installs the package)."""
    package_dir = baked_project / "model-package"
    commands = readme_block(package_dir / "README.md", 'pip install -e ".[batch]"')
    venv = make_venv(tmp_path / "venv", f"{model_wheel}[batch]", seed=True)
    environment = readme_environment(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    scores = package_dir / "scores.parquet"
    try:
        done = run_as_written(commands, package_dir, environment)
        assert "Scored 1,309 rows (0 invalid)" in done.stderr
        summary = run([python_in(venv), "-c", BATCH_SUMMARY, scores], cwd=tmp_path)
        assert summary.stdout.split()[:2] == ["1309", "0"]
    finally:
        scores.unlink(missing_ok=True)
