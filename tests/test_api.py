"""Slow tier: the baked API's own gates, with the model wheel installed as the API installs it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import api_gates, clean_environment, run, system_program

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
