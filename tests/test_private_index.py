"""Slow tier: publish to a real private index and install the API from it, decoy present."""

import json
import re
import secrets
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helpers import (
    clean_environment,
    golden_path,
    readme_block,
    readme_commands,
    readme_environment,
    run,
    run_as_written,
)

pytestmark = pytest.mark.slow

PASSWORD = secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[golden_path.Server]:
    with golden_path.serving(
        golden_path.start_index(tmp_path_factory.mktemp("index"), PASSWORD)
    ) as server:
        yield server


@pytest.fixture(scope="module")
def decoy_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[golden_path.Server]:
    """A second index, open to all, serving packages named like the model: 0.1.0 and 99.0.0."""
    root = tmp_path_factory.mktemp("decoy")
    server = golden_path.start_index(root, password=None)
    for version in ("0.1.0", "99.0.0"):
        source = root / f"src-{version}"
        (source / "titanic_survival_model").mkdir(parents=True)
        (source / "titanic_survival_model" / "__init__.py").write_text("DECOY = True\n")
        (source / "pyproject.toml").write_text(
            f'[project]\nname = "titanic-survival-model"\nversion = "{version}"\n'
        )
        uv = [sys.executable, "-m", "uv", "build", "--wheel", "--out-dir", root / "packages"]
        run([*uv, source], cwd=root)
    with golden_path.serving(server):
        yield server


def output_of(error: pytest.ExceptionInfo[golden_path.StepFailed]) -> str:
    return str(error.value)


def test_publish_without_credentials_fails_before_building(baked_project: Path) -> None:
    model = baked_project / "model-package"
    with pytest.raises(golden_path.StepFailed) as error:
        golden_path.tox(model, "publish_model", TWINE_USERNAME=golden_path.INDEX_USER)
    assert "publish: set TWINE_REPOSITORY_URL, TWINE_PASSWORD before publishing" in output_of(error)
    assert "Successfully built" not in output_of(error)


def test_publish_install_serve(
    baked_project: Path,
    model_wheel: Path,
    index: golden_path.Server,
    decoy_index: golden_path.Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    published = golden_path.publish(baked_project, index, PASSWORD)
    assert "publish: uploaded version 0.1.0" in published.stdout

    again = golden_path.publish(baked_project, index, PASSWORD).stdout
    assert "version 0.1.0 is already on the index and is left as it is" in again
    assert "bump titanic_survival_model/VERSION" in again

    # The README's download of the published wheel (for a cluster), as written.
    model = baked_project / "model-package"
    url = golden_path.index_url_with_credentials(index, PASSWORD)
    try:
        download = readme_block(model / "README.md", "pip download")
        run_as_written(download, model, readme_environment(MODEL_INDEX_URL=url))
        (downloaded,) = (model / "wheels").glob("*.whl")
        assert downloaded.read_bytes() == model_wheel.read_bytes()
    finally:
        shutil.rmtree(model / "wheels", ignore_errors=True)

    venv = tmp_path_factory.mktemp("api") / "venv"
    decoy = decoy_index.url + "/simple/"
    with pytest.raises(golden_path.StepFailed) as no_credentials:
        golden_path.install_api(baked_project, venv, None)
    assert "MODEL_INDEX_URL is not set" in output_of(no_credentials)
    wrong = golden_path.index_url_with_credentials(index, "wrong-password")
    with pytest.raises(golden_path.StepFailed) as refused:
        golden_path.install_api(baked_project, venv, wrong)
    assert "check MODEL_INDEX_URL and its credentials" in output_of(refused)

    installed = golden_path.install_api(
        baked_project,
        venv,
        golden_path.index_url_with_credentials(index, PASSWORD),
        PIP_EXTRA_INDEX_URL=decoy,
        UV_EXTRA_INDEX_URL=decoy,
    )
    probe = "import titanic_survival_model as m; print(m.__version__, hasattr(m, 'DECOY'))"
    assert run([venv / "bin" / "python", "-c", probe], cwd=venv).stdout.split() == [
        "0.1.0",
        "False",
    ]

    log = venv.parent / "api.log"
    with golden_path.serving(golden_path.start_api(baked_project, venv, log)) as api:
        with urllib.request.urlopen(api.url + "/ready", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ready"
        result = golden_path.smoke_check(baked_project, venv, api)
    assert result["model_version"] == "0.1.0"
    with pytest.raises(OSError):  # stopped with its whole process group: nothing answers
        urllib.request.urlopen(api.url + "/health", timeout=5)
    assert result["label"] in ("survived", "did not survive")
    assert set(result["probabilities"]) == {"survived", "did not survive"}

    for text in (published.stdout, published.stderr, installed.stdout, installed.stderr):
        assert PASSWORD not in text
    assert PASSWORD not in log.read_text()
    leaked = subprocess.run(
        ["grep", "-rlF", PASSWORD, str(baked_project), str(venv)], capture_output=True, text=True
    )
    assert leaked.stdout == ""


def test_demo_runs_the_whole_path(tmp_path: Path) -> None:
    demo = [sys.executable, Path(golden_path.__file__), "--output", tmp_path / "demo"]
    completed = run(demo, cwd=tmp_path, env=clean_environment())
    assert "Step timings:" in completed.stdout
    prediction = json.loads(completed.stdout.split("Prediction: ", 1)[1].splitlines()[0])
    assert prediction["model_version"] == "0.1.0"
    print(completed.stdout)

    # The shifted batch: every one of its predictions got its outcome, and the shift shows.
    sent = re.search(r"sent (\d+) of \d+ holdout rows, those with (\w+) = ", completed.stdout)
    assert sent, completed.stdout
    shifted, field = int(sent[1]), sent[2]
    quality = json.loads((tmp_path / "demo" / "monitoring-quality.json").read_text())
    (version,) = quality["versions"]
    assert version["model_version"] == "0.1.0"
    assert version["with_outcome"] == shifted >= quality["minimum_outcomes"]
    assert version["predictions"] == shifted + 1  # and the smoke check's
    assert version["verdict"] != "insufficient data"
    assert version["accuracy"]["low"] <= version["accuracy"]["value"] <= version["accuracy"]["high"]
    drift = json.loads((tmp_path / "demo" / "monitoring-drift.json").read_text())
    assert drift["enough_data"] and drift["rows"] == shifted + 1
    psi = {feature["feature"]: feature for feature in drift["report"]["features"]}
    assert psi[field]["status"] == "drift", psi[field]


def trained(package: Path) -> dict:
    (metadata,) = (package / "trained_models").glob("*.json")
    return json.loads(metadata.read_text())


def test_gate_holds_back_a_worse_model(tmp_path: Path) -> None:
    """0.1.0 is published; 0.2.0 without `sex` fails the gate, passes with a reason on record, and
    passes on its merits once `sex` is back. A changed model under a published version fails."""
    project = golden_path.bake(tmp_path)
    model = project / "model-package"
    package = model / "titanic_survival_model"
    config_file = package / "config.yml"
    original = config_file.read_text()
    without_sex = original.replace("[pclass, sex, embarked,", "[pclass, embarked,")
    assert without_sex != original
    # The README's commands for a release, as written: the gate, the gate overridden with a
    # reason, a version bump committed, and CI's line that tests, gates, builds and publishes.
    commands = readme_commands(model / "README.md")
    (override,) = [line for line in commands if line.startswith("GATE_OVERRIDE_REASON=")]
    (reason,) = re.findall(r'^GATE_OVERRIDE_REASON="([^"]+)" tox -e gate$', override)
    (ci,) = [line for line in commands if line.endswith(",publish_model")]
    bump, commit, _ = readme_block(model / "README.md", "git push")  # no remote to push to
    root = readme_commands(project / "README.md")[0]  # git init, add and commit
    with golden_path.serving(golden_path.start_index(tmp_path / "index", PASSWORD)) as index:
        url = golden_path.index_url_with_credentials(index, PASSWORD)
        environment = readme_environment(MODEL_INDEX_URL=url, GATE_OVERRIDE_REASON="")
        run_as_written([root], project, environment)
        golden_path.tox(model, "train")
        first = run_as_written(["tox -e gate"], model, environment).stdout
        assert "below 0.1.0 on the index: first release" in first
        assert trained(package)["gate"]["published_version"] is None
        golden_path.tox(model, "build")
        golden_path.publish(project, index, PASSWORD)
        published = trained(package)["metrics"]

        run_as_written([bump, commit], project, environment)
        assert (package / "VERSION").read_text() == "0.2.0\n"
        config_file.write_text(without_sex)
        golden_path.tox(model, "train")
        candidate = trained(package)["metrics"]
        with pytest.raises(golden_path.StepFailed) as worse:
            golden_path.gate(project, url)
        table = output_of(worse)
        print(table[table.index("Gate: titanic") :])
        assert "titanic-survival-model 0.2.0 (candidate) against 0.1.0" in table
        tolerances = yaml.safe_load(original)["gate"]["metrics"]
        for metric, tolerance in tolerances.items():
            old, new = published[metric], candidate[metric]
            loss = new - old if metric == "log_loss" else old - new  # schemas.LOWER_IS_BETTER
            verdict = "WORSE" if loss > tolerance else "ok"
            figures = [f"{old:.4f}", f"{new:.4f}", f"{new - old:+.4f}", f"{tolerance:g}"]
            cells = [metric, *figures, verdict]
            row = r"\s+".join(map(re.escape, cells))
            assert re.search(rf"^{row}$", table, re.MULTILINE), row
        assert "Gate failed: the candidate 0.2.0 is worse than the published 0.1.0" in table
        assert trained(package)["gate"] is None  # a failed gate records nothing: no build

        overridden = run_as_written([override], model, environment).stdout
        assert "OVERRIDDEN" in overridden
        gate = trained(package)["gate"]
        assert (gate["passed"], gate["override_reason"]) == (False, reason)
        folder = package / "trained_models"
        cards = [path.read_text() for path in folder.iterdir() if path.suffix in (".html", ".md")]
        assert len(cards) == 2
        assert all(reason in card for card in cards)

        config_file.write_text(original)
        twine = {"TWINE_REPOSITORY_URL": index.url + "/", "TWINE_USERNAME": golden_path.INDEX_USER}
        released = run_as_written([ci], model, {**environment, **twine, "TWINE_PASSWORD": PASSWORD})
        assert "Gate passed" in released.stdout
        assert "publish: uploaded version 0.2.0" in released.stdout
        gate = trained(package)["gate"]
        assert (gate["passed"], gate["override_reason"]) == (True, None)

        (package / "VERSION").write_text("0.1.0\n")
        config_file.write_text(without_sex)
        golden_path.tox(model, "train")
        with pytest.raises(golden_path.StepFailed) as changed:
            golden_path.gate(project, url)
        assert "version 0.1.0 is already on the index with another model" in output_of(changed)

        config_file.write_text(original)  # what CI meets on most pushes: the published model
        golden_path.tox(model, "train")
        unchanged = golden_path.gate(project, url).stdout
        assert "0.1.0 is already on the index and scores the holdout as this model" in unchanged
