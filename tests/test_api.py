"""Slow tier: the baked API's own gates, with the model wheel installed as the API installs it."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import (
    api_gates,
    clean_environment,
    ran_as_written,
    readme_block,
    readme_commands,
    readme_environment,
    run,
    run_as_written,
    system_program,
)

pytestmark = pytest.mark.slow


def test_api_gates_pass(baked_project: Path, model_wheel: Path) -> None:
    report = api_gates(baked_project, "test_app_all")
    assert "schemathesis cases by operation and status" in report
    assert "PASSED tests/test_server.py::test_metrics_add_up_across_two_workers" in report
    # The prediction log's heavy tests print their counts: shown in this report.
    counts = re.findall(
        r"^(?:soak on|database away|SIGTERM on|kill -9 on) .*$", report, re.MULTILINE
    )
    print("\n".join(counts))
    for kind in ("sqlite", "postgresql"):
        assert any(line.startswith(f"kill -9 on {kind}:") for line in counts), report[-3000:]
        assert any(line.startswith(f"soak on {kind}:") for line in counts), report[-3000:]


def test_benchmark_prints_its_table(baked_project: Path, model_wheel: Path) -> None:
    """A short run of `tox -e bench`: it starts, measures, stops and prints every figure."""
    if not system_program("wrk"):
        pytest.skip("wrk is not installed (apt-get install wrk); .ci/run installs it")
    environment = clean_environment(MODEL_WHEEL=str(model_wheel))
    completed = run(
        [sys.executable, "-m", "tox", "-e", "bench", "--", "--requests", "200", "--seconds", "2"],
        cwd=baked_project / "api",
        env=environment,
    )
    print(completed.stdout[completed.stdout.index("Serving benchmark") :])
    figures = ("p50 / p99", "req/s", "rows/s", "resident memory", "HTTP p50 <= 2x bare p50")
    figures += ("in-process: parse and validate", "cold start to /ready, no bytecode")
    figures += ("challenger in shadow: p50 <= 1.3x without", "challenger's CPU per record scored")
    for figure in figures:
        assert figure in completed.stdout
    assert completed.stdout.count(" met") + completed.stdout.count("NOT MET") >= 5


def test_install_without_credentials_says_which_variable(
    baked_project: Path, tmp_path: Path
) -> None:
    environment = clean_environment()
    environment.pop("MODEL_INDEX_URL", None)
    environment.pop("MODEL_WHEEL", None)
    completed = subprocess.run(
        [sys.executable, "scripts/install.py"],
        cwd=baked_project / "api",
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "MODEL_INDEX_URL is not set" in completed.stderr


def test_the_operations_commands_run_as_written(baked_project: Path, quick_start: str) -> None:
    """api/README.md's commands for the database and the lock, as written in api/ (on a database
    of the test's own): the tables and the migrations agree, so a new revision is empty; the lock
    is what `tox -e lock` makes."""
    api = baked_project / "api"
    readme = api / "README.md"
    versions = api / "migrations" / "versions"
    database = api / ".tox" / "operations.sqlite3"
    environment = readme_environment(DATABASE_URL=f"sqlite:///{database}")
    commands = readme_block(readme, "alembic revision")
    (rev_id,) = re.findall(r"--rev-id (\d+) ", commands[-1])
    assert not list(versions.glob(f"{rev_id}_*.py")), f"{rev_id} is taken: the README is behind"
    try:
        run_as_written(commands, api, environment)
        (revision,) = versions.glob(f"{rev_id}_*.py")
        upgrade = revision.read_text().split("def upgrade() -> None:")[1].split("def downgrade")[0]
        assert "pass" in upgrade.split(), f"app/db.py and the migrations differ:{upgrade}"
    finally:
        for path in versions.glob(f"{rev_id}_*.py"):
            path.unlink()
        database.unlink(missing_ok=True)

    lock = (api / "requirements.txt").read_text()
    assert "tox -e lock" in readme_commands(readme)
    try:
        run_as_written(["tox -e lock"], api, readme_environment())
        assert (api / "requirements.txt").read_text() == lock, "tox -e lock changed the lock"
    finally:
        (api / "requirements.txt").write_text(lock)  # the shared bake's lock, as it was


def openapi_example(url: str) -> list[dict[str, object]]:
    """The records the service publishes as its request example."""
    with urllib.request.urlopen(url + "/openapi.json", timeout=10) as response:
        schemas = json.loads(response.read())["components"]["schemas"]
    return list(schemas["PredictionRequest"]["properties"]["records"]["examples"][0])


def test_the_local_run_takes_an_outcome_as_written(baked_project: Path, quick_start: str) -> None:
    """api/README.md's development server on the local wheel, and its curl for a classifier's
    outcome, as written: the outcome of a real prediction is recorded."""
    api = baked_project / "api"
    commands = readme_commands(api / "README.md")
    (serve,) = [line for line in commands if line.endswith("tox -e run")]
    (curl,) = [line for line in commands if line.startswith("curl ") and "$LABEL" in line]
    (url,) = re.findall(r"(http://[\d.:]+)/", curl)
    database = api / ".tox" / "run.sqlite3"
    environment = readme_environment(DATABASE_URL=f"sqlite:///{database}")
    server = subprocess.Popen(
        ["bash", "-c", serve],
        cwd=api,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(url + "/ready", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()[-3000:]
                assert time.monotonic() < deadline, "tox -e run did not answer in 5 minutes"
                time.sleep(0.5)
        ran_as_written([serve])
        body = json.dumps({"records": openapi_example(url)}).encode()
        headers = {"Content-Type": "application/json"}
        predict = urllib.request.Request(url + "/api/v1/predict", body, headers)
        with urllib.request.urlopen(predict, timeout=30) as response:
            (prediction,) = json.loads(response.read())["predictions"]
        outcome = {"ID": prediction["prediction_id"], "LABEL": prediction["label"]}
        answer = json.loads(run_as_written([curl], api, {**environment, **outcome}).stdout)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        database.unlink(missing_ok=True)
        shutil.rmtree(api / "data", ignore_errors=True)  # its spool: the shared bake keeps none
    assert answer["label"] == answer["predicted_label"] == prediction["label"], answer
    assert answer["recorded_at"], answer
