"""A challenger in shadow: its own interpreter, rows paired with the champion's, one outcome for
both, the comparison's verdict, and a champion that answers whatever the challenger does.

The challenger here is a copy of the installed model package under another version, run by an
interpreter of its own (bench/servers.py's challenger_environment): the same model, so its
answers match the champion's. Two really different versions, installed from a private index, are
compared by the template's tests (tests/test_private_index.py at the template's root).
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHALLENGER_VERSION,
    ClientFactory,
    Record,
    challenger_file,
    feedback_for,
    other_outcome,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

import {{ cookiecutter.package_name }} as model_package
from {{ cookiecutter.package_name }} import __version__

from app.answers import CLASSIFICATION, OUTCOME
from app.challenger import Challenger
from app.config import API_ROOT, Settings
from app.db import make_engine, predictions
from app.main import create_app
from bench.servers import challenger_environment


def challenger_of(client: TestClient) -> Challenger:
    assert isinstance(client.app, FastAPI)
    challenger: Challenger = client.app.state.services.challenger
    return challenger


def wait_until_serving(client: TestClient, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if client.get("/ready").json()["challenger"]["state"] == "serving":
            return
        time.sleep(0.1)
    raise AssertionError(f"the challenger is not serving: {client.get('/ready').json()}")


def shadow_counts(client: TestClient) -> dict[tuple[str, str], float]:
    counts = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("shadow_records_total{"):
            labels, value = line.removeprefix("shadow_records_total{").split("} ")
            fields = dict(part.split("=") for part in labels.split(","))
            counts[fields["outcome"].strip('"'), fields["reason"].strip('"')] = float(value)
    return counts


def wait_for_shadow(client: TestClient, records: int, seconds: float = 30) -> None:
    """Until the challenger has scored `records`, and the log has written every row."""
    deadline = time.monotonic() + seconds
    while shadow_counts(client).get(("scored", ""), 0) < records:
        assert time.monotonic() < deadline, shadow_counts(client)
        time.sleep(0.05)
    assert isinstance(client.app, FastAPI)
    assert client.app.state.services.prediction_log.flush(30)


def predict(client: TestClient, records: list[Record]) -> list[Record]:
    response = client.post("/api/v1/predict", json={"records": records})
    assert response.status_code == 200, response.text
    answers: list[Record] = response.json()["predictions"]
    return answers


def test_one_outcome_scores_both_versions(
    make_client: ClientFactory, example: Record, database_url: str, tmp_path: Path
) -> None:
    client = make_client(
        database_url=database_url,
        challenger_file=challenger_file(tmp_path),
        challenger_python=challenger_environment(tmp_path, CHALLENGER_VERSION),
    )
    wait_until_serving(client)
    comparison = client.get("/api/v1/monitoring/comparison").json()
    assert comparison["status"] == "collecting: 0 of 30"
    assert comparison["decision"] is None

    answers = [answer for _ in range(40) for answer in predict(client, [example])]
    answers += predict(client, [example] * 5)  # a batch: each record paired with its own row
    wait_for_shadow(client, 45)
    engine = make_engine(Settings(_env_file=None, database_url=database_url).database_url)
    with engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(select(predictions))]
    engine.dispose()
    shadows = {row["champion_id"]: row for row in rows if row["role"] == "shadow"}
    assert sorted(shadows) == sorted(answer["prediction_id"] for answer in answers)
    assert {row["model_version"] for row in shadows.values()} == {CHALLENGER_VERSION}
    for answer in answers:  # the same model, so the same answers
        assert shadows[answer["prediction_id"]][OUTCOME] == pytest.approx(answer[OUTCOME])
    shadow_id = next(iter(shadows.values()))["id"]
    refused = client.post(
        "/api/v1/feedback", json={**feedback_for(answers[0]), "prediction_id": shadow_id}
    )
    assert refused.status_code == 404
    champion_id = next(iter(shadows.values()))["champion_id"]
    assert f"outcome with the answered prediction's id, {champion_id!r}" in refused.text

    # right, wrong, right...: 15 right of the first 29 (a regression's wrong one is off by 1)
    for index, answer in enumerate(answers[:29]):
        wrong = {OUTCOME: other_outcome(answer)} if index % 2 else {}
        outcome = {**feedback_for(answer), **wrong}
        assert client.post("/api/v1/feedback", json=outcome).status_code == 201
    assert client.get("/api/v1/monitoring/comparison").json()["status"] == "collecting: 29 of 30"
    for answer in answers[29:]:  # after the 30th, nothing changes the verdict
        assert client.post("/api/v1/feedback", json=feedback_for(answer)).status_code == 201
    comparison = client.get("/api/v1/monitoring/comparison").json()
    decision = comparison["decision"]
    assert comparison["status"] == decision["verdict"] == "no difference shown"
    assert (decision["pairs"], decision["p_value"], decision["difference"]) == (30, 1.0, 0.0)
    expected = 16 / 30 if CLASSIFICATION else 14 / 30  # accuracy, or MAE
    assert decision["champion"] == decision["challenger"] == pytest.approx(expected)
    if CLASSIFICATION:
        assert "0 right by the champion only, 0 by the challenger only" in decision["rule"]

    exposition = client.get("/metrics").text
    labels = "{" + f'challenger="{CHALLENGER_VERSION}",champion="{__version__}"' + "}"
    assert f"comparison_pairs{labels} 30.0" in exposition
    assert f"comparison_verdict{labels} 0.0" in exposition
    page = client.get("/monitoring").text
    assert f"Champion {__version__} against challenger {CHALLENGER_VERSION} (in shadow)" in page
    assert "no difference shown." in page
    assert f"model {CHALLENGER_VERSION} (shadow)" in page  # its live quality, beside the champion's
    quality = client.get("/api/v1/monitoring/quality").json()["versions"]
    assert [version["model_version"] for version in quality] == [__version__]  # shadows aside


def test_a_killed_challenger_comes_back_and_its_gap_is_counted(
    make_client: ClientFactory, example: Record, tmp_path: Path
) -> None:
    client = make_client(
        challenger_file=challenger_file(tmp_path),
        challenger_python=challenger_environment(tmp_path, CHALLENGER_VERSION),
    )
    wait_until_serving(client)
    challenger = challenger_of(client)
    assert challenger.process is not None
    first = challenger.process.pid
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while challenger.serving and time.monotonic() < deadline:  # noticed without any traffic
        time.sleep(0.01)
    assert challenger.state == "restarting: its worker exited with code -9"
    predict(client, [example])  # answered meanwhile, by the champion
    wait_until_serving(client)
    assert challenger.process is not None
    assert challenger.process.pid != first
    assert shadow_counts(client)[("dropped", "challenger not serving")] == 1
    predict(client, [example])
    wait_for_shadow(client, 1)


@pytest.mark.parametrize("trouble", ["not installed", "cannot load"])
def test_a_challenger_that_cannot_serve_leaves_the_champion_serving(
    make_client: ClientFactory, example: Record, tmp_path: Path, trouble: str
) -> None:
    python = tmp_path / "no-such-environment" / "bin" / "python"
    if trouble == "cannot load":
        python = challenger_environment(tmp_path, CHALLENGER_VERSION)
        shutil.rmtree(
            tmp_path / "site" / Path(model_package.__file__).parent.name / "trained_models"
        )
    client = make_client(challenger_file=challenger_file(tmp_path), challenger_python=python)
    deadline = time.monotonic() + 30
    while (ready := client.get("/ready")).json()["challenger"]["state"] == "starting":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    state = ready.json()["challenger"]["state"]
    expected = "not installed" if trouble == "not installed" else "the challenger cannot load"
    assert state.startswith(f"restarting: {expected}"), state
    predict(client, [example])
    assert shadow_counts(client)[("dropped", "challenger not serving")] == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"pairs": 5}, "pairs: Input should be greater than or equal to 30"),
        ({"alpha": 0.5}, "alpha: Input should be less than 0.5"),
        ({"share": 0}, "share: Input should be greater than 0"),
        ({"metric": "accuracy"}, "metric: Extra inputs are not permitted"),
    ],
)
def test_a_bad_challenger_file_stops_the_start_with_its_reason(
    tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    path = challenger_file(tmp_path, **fields)
    with pytest.raises(SystemExit, match=f"invalid challenger: {path}: .*{message}"):
        create_app(Settings(_env_file=None, challenger_file=path))


def test_a_promoted_challenger_ends_the_comparison(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """VERSION set to the challenger's version, challenger.yml left as it was: no comparison."""
    client = make_client(challenger_file=challenger_file(tmp_path, version=__version__))
    assert client.get("/ready").json()["challenger"] is None


def test_the_repository_names_no_challenger(client: TestClient) -> None:
    """api/challenger.yml as committed: valid, and naming none until a second version exists."""
    assert client.get("/ready").json()["challenger"] is None
    missing = client.get("/api/v1/monitoring/comparison")
    assert missing.status_code == 404
    assert "api/challenger.yml" in missing.json()["detail"]


def test_a_challenger_that_cannot_install_leaves_the_build_to_the_champion(tmp_path: Path) -> None:
    """install.py's third step: the reason, no environment left behind, and the build goes on."""
    environment = tmp_path / "challenger-env"
    script = (
        "import install; "
        f"install.CHALLENGER_ENV = __import__('pathlib').Path({str(environment)!r}); "
        "install.install_challenger(install.DISTRIBUTION, '9.9.9'); print('build goes on')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=API_ROOT / "scripts",
        env={**os.environ, "MODEL_WHEEL": str(tmp_path)},  # a folder without that wheel
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("build goes on")
    assert "no wheel of" in done.stderr
    assert "9.9.9 (challenger.yml) was not installed, for the reason above" in done.stderr
    assert not environment.exists()
