"""Slow tier: two published versions side by side, decided on outcomes.

0.1.0 and a different 0.2.0 (regularised until it hardly learns) are published to a private
index with a password. api/challenger.yml names 0.2.0: railway.json's build installs both, each
in its own environment, and railway.json's start command serves 0.1.0 with 2 workers, on SQLite
and on PostgreSQL, 0.2.0 scoring in shadow. The holdout's records and their outcomes go through
the routes; the service's verdict is checked against scipy's McNemar test on the challenger's own
answers, computed apart in its environment. Then a challenger worker is killed under load.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import golden_path, postgres_server, readme_block, run, run_as_written
from scipy import stats

pytestmark = pytest.mark.slow

PASSWORD = secrets.token_urlsafe(16)
PAIRS = 200  # of the 262 holdout records
README_PORT = 8000  # the port of the API README's commands


def release(project: Path, index: golden_path.Server, url: str, **environment: str) -> None:
    model = project / "model-package"
    golden_path.tox(model, "train")
    golden_path.gate(project, url, **environment)
    golden_path.tox(model, "build")
    golden_path.publish(project, index, PASSWORD)


def challenger_answers(python: Path, records: list[dict[str, Any]]) -> list[str]:
    """The challenger's labels for `records`, from its own environment, apart from the service."""
    script = (
        "import json, sys; import titanic_survival_model as m; "
        "print(json.dumps(m.make_prediction(json.load(sys.stdin)).labels))"
    )
    done = subprocess.run(
        [python, "-c", script],
        input=json.dumps(records),
        capture_output=True,
        text=True,
        check=True,
    )
    labels: list[str] = json.loads(done.stdout)
    return labels


def shadow_counts(url: str) -> dict[tuple[str, str], float]:
    text = urllib_text(url + "/metrics")
    found = re.findall(
        r'^shadow_records_total\{outcome="(\w+)",reason="([^"]*)"\} (\S+)$', text, re.M
    )
    return {(outcome, reason): float(value) for outcome, reason, value in found}


def urllib_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        time.sleep(0.2)


def shadow_workers() -> set[int]:
    found = subprocess.run(["pgrep", "-f", "app/shadow_worker.py"], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def test_a_challenger_in_shadow_is_decided_on_outcomes(tmp_path: Path) -> None:
    project = golden_path.bake(tmp_path)
    model, api = project / "model-package", project / "api"
    package = model / "titanic_survival_model"
    config_file = package / "config.yml"
    original = config_file.read_text()
    with golden_path.serving(golden_path.start_index(tmp_path / "index", PASSWORD)) as index:
        url = golden_path.index_url_with_credentials(index, PASSWORD)
        release(project, index, url)
        (package / "VERSION").write_text("0.2.0\n")
        stunted = original.replace("    C: 1.0\n", "    C: 0.001\n")
        assert stunted != original
        config_file.write_text(stunted)
        release(project, index, url, GATE_OVERRIDE_REASON="a challenger to compare on outcomes")
        (package / "VERSION").write_text("0.1.0\n")
        config_file.write_text(original)
        named = yaml.safe_load((api / "challenger.yml").read_text())
        assert named["version"] is None  # as baked: no comparison
        (api / "challenger.yml").write_text(
            (api / "challenger.yml").read_text().replace("version: ~", 'version: "0.2.0"')
        )
        (api / "challenger.yml").write_text(
            re.sub(
                r"^pairs: \d+", f"pairs: {PAIRS}", (api / "challenger.yml").read_text(), flags=re.M
            )
        )
        venv = tmp_path / "venv"
        installed = golden_path.install_api(project, venv, url)
    assert "the challenger titanic-survival-model 0.2.0 is in" in installed.stdout
    challenger = api / ".challenger" / "bin" / "python"
    probe = ["-c", "import titanic_survival_model as m; print(m.__version__)"]
    assert run([venv / "bin" / "python", *probe], cwd=api).stdout.strip() == "0.1.0"
    assert run([challenger, *probe], cwd=api).stdout.strip() == "0.2.0"

    holdout_file = model / "data" / "prepared" / "holdout.jsonl"
    holdout = [json.loads(line) for line in holdout_file.read_text().splitlines()]
    records = [row["record"] for row in holdout]
    theirs = challenger_answers(challenger, records)

    with postgres_server() as postgres_url:
        run(
            [venv / "bin" / "python", "-m", "app.migrate"],
            cwd=api,
            env=golden_path.clean_environment(DATABASE_URL=postgres_url),
        )
        for database in ("sqlite", "postgresql"):
            environment = {"WEB_CONCURRENCY": "2"}
            if database == "postgresql":
                environment["DATABASE_URL"] = postgres_url
            log = tmp_path / f"api-{database}.log"
            port = README_PORT if database == "sqlite" else None
            with golden_path.serving(
                golden_path.start_api(project, venv, log, port, **environment)
            ) as served:
                decision = compare(project, served, venv, holdout, theirs, database)
                assert decision["verdict"] == "challenger worse"  # as scipy says, too
                if database == "sqlite":  # the README's command, as written, on its port
                    (curl,) = readme_block(api / "README.md", "monitoring/comparison")
                    answered = json.loads(run_as_written([curl], api).stdout)
                    assert answered["decision"] == decision
                kill_under_load(served)
            p_value = decision["p_value"]
            print(f"{database}: {decision['verdict']}: {decision['rule']}, p = {p_value:.3g}")


def compare(
    project: Path,
    served: golden_path.Server,
    venv: Path,
    holdout: list[dict[str, Any]],
    theirs: list[str],
    database: str,
) -> dict[str, Any]:
    """Shadow traffic, then outcomes; the verdict once PAIRS are in, against scipy's."""
    result = golden_path.smoke_check(project, venv, served)  # waits for both versions
    assert (result["model_version"], result["challenger_version"]) == ("0.1.0", "0.2.0")
    base = served.url

    def all_serving() -> bool:  # each API worker runs its own challenger; /ready asks either
        states = [golden_path.call(f"{base}/ready")["challenger"]["state"] for _ in range(20)]
        return set(states) == {"serving"}

    wait_for(all_serving, 60, "both workers' challengers serving")
    before = shadow_counts(base)
    answers = []
    for row in holdout:
        answer = golden_path.call(f"{base}/api/v1/predict", {"records": [row["record"]]})
        answers.append(answer["predictions"][0])
    scored = before.get(("scored", ""), 0) + len(holdout)
    wait_for(lambda: shadow_counts(base).get(("scored", ""), 0) == scored, 60, "shadow scored")
    assert shadow_counts(base) == {**before, ("scored", ""): scored}  # none dropped or failed
    comparison = golden_path.call(f"{base}/api/v1/monitoring/comparison")
    assert comparison["status"] == f"collecting: 0 of {PAIRS}"
    for answer, row in zip(answers, holdout, strict=True):
        golden_path.call(
            f"{base}/api/v1/feedback",
            {"prediction_id": answer["prediction_id"], "label": row["target"]},
        )
    comparison = golden_path.call(f"{base}/api/v1/monitoring/comparison")
    decision: dict[str, Any] = comparison["decision"]

    # The oracle: the first PAIRS outcomes, the champion's answers as served, the challenger's
    # as its environment gives them, and scipy's exact binomial test on the discordant pairs.
    truth = [row["target"] for row in holdout][:PAIRS]
    ours = [answer["label"] == label for answer, label in zip(answers, truth, strict=False)]
    their = [label == real for label, real in zip(theirs, truth, strict=False)]
    only_ours = sum(a and not b for a, b in zip(ours, their, strict=True))
    only_theirs = sum(b and not a for a, b in zip(ours, their, strict=True))
    p_value = stats.binomtest(only_theirs, only_ours + only_theirs).pvalue
    verdict = (
        "no difference shown"
        if p_value >= 0.05
        else ("challenger better" if only_theirs > only_ours else "challenger worse")
    )
    assert comparison["status"] == decision["verdict"] == verdict
    assert decision["pairs"] == PAIRS
    assert decision["p_value"] == pytest.approx(p_value, rel=1e-9)
    assert decision["champion"] == pytest.approx(sum(ours) / PAIRS)
    assert decision["challenger"] == pytest.approx(sum(their) / PAIRS)
    assert (
        f"{only_ours} right by the champion only, {only_theirs} by the challenger only"
        in decision["rule"]
    )
    metrics = urllib_text(base + "/metrics")
    sign = {"challenger better": 1, "no difference shown": 0, "challenger worse": -1}[verdict]
    assert f'comparison_verdict{{challenger="0.2.0",champion="0.1.0"}} {float(sign)}' in metrics
    print(f"{database}: {json.dumps(comparison)}")
    return decision


def kill_under_load(served: golden_path.Server) -> None:
    """kill -9 of a challenger worker while requests flow: every one answered, the worker back,
    the gap counted."""
    before = shadow_workers()
    assert len(before) == 2, before  # one per API worker
    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:
        example = json.loads(urllib_text(served.url + "/openapi.json"))["components"]["schemas"][
            "PredictionRequest"
        ]["properties"]["records"]["examples"][0]
        while not stop.is_set():
            try:
                golden_path.call(f"{served.url}/api/v1/predict", {"records": example})
            except golden_path.StepFailed as error:
                failures.append(str(error))

    thread = threading.Thread(target=load)
    thread.start()
    try:
        time.sleep(1)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(shadow_workers() - {victim}) == 2, 30, "a new challenger worker")
        time.sleep(1)
    finally:
        stop.set()
        thread.join()
    assert failures == [], failures[:3]
    counts = shadow_counts(served.url)
    lost = counts.get(("failed", "worker died"), 0) + counts.get(
        ("dropped", "challenger not serving"), 0
    )
    assert lost >= 1, counts
