"""Slow tier: the generated README's "Replace the example model", followed with a second data set.

The Palmer penguins (numeric and categorical columns with missing values; shipped in the PyPI
package palmerpenguins) replace the Titanic example three ways: their species with XGBoost, their
body mass (a regression) with LightGBM, and their sex from numbers alone. Only files inside
model-package/ change. The package's own gates run; for the first two, the unchanged API passes its
own tests against the new wheel and serves a prediction, and the regression takes an outcome back
and holds a worse model back at the release gate. Then estimators by their import path (XGBoost,
LightGBM) pass the package's gates by config.yml alone.
"""

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import golden_path
import pytest
import yaml
from helpers import (
    TEMPLATE,
    assert_api_report,
    bake_ok,
    clean_environment,
    make_venv,
    readme_commands,
    readme_environment,
    run,
    run_as_written,
    system_program,
)

pytestmark = pytest.mark.slow

PENGUINS = TEMPLATE / "tests" / "penguins"
PACKAGE = "penguin_species_model"
SPECIES = {"Adélie", "Chinstrap", "Gentoo"}
# Made by the commands that run, not by the person following the guide.
README = Path("model-package") / "README.md"  # the guide this test follows
BUILT = {".tox", "dist", "build", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def snapshot(project: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in project.rglob("*")
        if path.is_file()
        and not BUILT.intersection(path.relative_to(project).parts)
        and not any(part.endswith(".egg-info") for part in path.parts)
        and "trained_models" not in path.parts
    }


def penguins_csv() -> bytes:
    distribution = importlib.metadata.distribution("palmerpenguins")
    (csv,) = [f for f in distribution.files or [] if str(f) == "palmerpenguins/data/penguins.csv"]
    return Path(str(distribution.locate_file(csv))).read_bytes()


def follow_the_guide(project: Path, package: str, variant: Path, data: bytes) -> None:
    """Steps 1 to 6 of the guide: data, schema, classes, features, estimator, example tests."""
    package_dir = project / "model-package" / package
    (package_dir / "datasets" / "titanic3.csv").unlink()
    (package_dir / "datasets" / "penguins.csv").write_bytes(data)
    shutil.copy(PENGUINS / "species" / "datasets_README.md", package_dir / "datasets" / "README.md")
    for name in ("input_schema.py", "features.py", "config.yml"):
        shutil.copy(variant / name, package_dir / name)
    example_tests = project / "model-package" / "tests" / "example"
    shutil.rmtree(example_tests)
    for test in variant.glob("test_*.py"):
        example_tests.mkdir(exist_ok=True)
        shutil.copy(test, example_tests / test.name)


def test_a_penguin_classifier_replaces_the_example(cookies, tmp_path: Path) -> None:
    project = bake_ok(cookies, project_name="Penguin Species")
    before = snapshot(project)
    follow_the_guide(project, PACKAGE, PENGUINS / "species", penguins_csv())
    after = snapshot(project)
    changed = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    print("files the swap changed:", *changed, sep="\n  ")
    assert all(name.startswith("model-package/") for name in changed)

    # The guide's last step, as written at the project's root: every gate of both parts, the
    # unchanged API's tests against the new wheel.
    (check,) = [line for line in readme_commands(project / README) if line == "tox -e check"]
    browser = system_program("chromium")
    environment = readme_environment(PYTEST_ADDOPTS="-rA")  # what passing tests print, too
    report = run_as_written([check], cwd=project, env=environment).stdout
    print(report[report.index("model report") :].split("\n\n")[0])
    assert_api_report(project, report, browser)
    assert "PASSED tests/test_contract.py::test_only_public_names_are_imported" in report
    model_dir = project / "model-package"
    (wheel,) = (model_dir / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (card,) = [name for name in archive.namelist() if name.endswith(".json")]
        metadata = json.loads(archive.read(card))
    print("penguin model metrics:", metadata["metrics"])
    assert metadata["classes"] == sorted(SPECIES)
    assert metadata["estimator"] == "xgboost.XGBClassifier"

    venv = make_venv(tmp_path / "venv", "-r", project / "api" / "requirements.txt", wheel)
    api = golden_path.start_api(project, venv, tmp_path / "api.log")
    with golden_path.serving(api):
        prediction = golden_path.smoke_check(project, venv, api)
    print("a real prediction from the unchanged API:", json.dumps(prediction, ensure_ascii=False))
    assert prediction["label"] == "Gentoo"  # the example record is a Gentoo of the data
    assert set(prediction["probabilities"]) == SPECIES


def test_a_regression_with_lightgbm_replaces_the_example(cookies, tmp_path: Path) -> None:
    """Body mass in grams from species, island, sex and measurements, some of them missing."""
    project = bake_ok(cookies, project_name="Penguin Mass")
    before = snapshot(project)
    lines = penguins_csv().decode().splitlines(keepends=True)
    mass = lines[0].split(",").index("body_mass_g")
    weighed = [lines[0]] + [line for line in lines[1:] if line.split(",")[mass] != "NA"]
    follow_the_guide(project, "penguin_mass_model", PENGUINS / "mass", "".join(weighed).encode())
    after = snapshot(project)
    changed = [name for name in before.keys() | after.keys() if before.get(name) != after.get(name)]
    print(f"{len(changed)} files changed, all in model-package/:", *sorted(changed), sep="\n  ")
    assert all(name.startswith("model-package/") for name in changed)

    browser = system_program("chromium")
    environment = readme_environment(PYTEST_ADDOPTS="-rA")
    report = run(["bash", "-c", "tox -e check"], cwd=project, env=environment).stdout
    print(report[report.index("model report") :].split("\n\n")[0])
    assert_api_report(project, report, browser)
    model_dir = project / "model-package"
    package = model_dir / "penguin_mass_model"
    (wheel,) = (model_dir / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (card,) = [name for name in archive.namelist() if name.endswith(".json")]
        metadata = json.loads(archive.read(card))
    print("penguin mass model metrics:", metadata["metrics"], "interval:", metadata["interval"])
    assert (metadata["task"], metadata["classes"]) == ("regression", [])
    assert metadata["estimator"] == "lightgbm.LGBMRegressor"
    assert metadata["interval"]["coverage"] == 0.9

    venv = make_venv(tmp_path / "venv", "-r", project / "api" / "requirements.txt", wheel)
    api = golden_path.start_api(project, venv, tmp_path / "api.log")
    with golden_path.serving(api):
        prediction = golden_path.smoke_check(project, venv, api)
        print("a real prediction from the unchanged API:", json.dumps(prediction))
        assert prediction["lower"] < prediction["value"] < prediction["upper"]
        assert 4000 < prediction["value"] < 5500  # a female Gentoo of the data weighs 4,500 g
        sent = {"prediction_id": prediction["prediction_id"], "value": 4500.0}
        recorded = golden_path.call(api.url + "/api/v1/feedback", sent)
        print("its outcome, recorded:", json.dumps(recorded))
        assert (recorded["value"], recorded["predicted_value"]) == (4500.0, prediction["value"])
        quality = golden_path.call(api.url + "/api/v1/monitoring/quality")
        assert quality["versions"][0]["mae"]["value"] == pytest.approx(
            abs(4500.0 - prediction["value"])
        )

    config_file = package / "config.yml"
    original = config_file.read_text()
    stunted = original.replace("n_estimators: 200", "n_estimators: 3")
    assert stunted != original
    with golden_path.serving(golden_path.start_index(tmp_path / "index", "secret")) as index:
        url = golden_path.index_url_with_credentials(index, "secret")
        assert "first release" in golden_path.gate(project, url).stdout
        golden_path.tox(model_dir, "build")
        golden_path.publish(project, index, "secret")
        (package / "VERSION").write_text("0.2.0\n")
        config_file.write_text(stunted)
        golden_path.tox(model_dir, "train")
        with pytest.raises(golden_path.StepFailed) as worse:
            golden_path.gate(project, url)
    table = str(worse.value)
    print(table[table.index("Gate: penguin") :])
    assert re.search(r"^rmse\s.*\sWORSE$", table, re.MULTILINE)
    assert "Gate failed: the candidate 0.2.0 is worse than the published 0.1.0" in table


def test_a_binary_model_of_numbers_only(cookies) -> None:
    """String classes, no categorical feature, no engineered feature, every field required."""
    project = bake_ok(cookies, project_name="Penguin Sex")
    lines = penguins_csv().decode().splitlines(keepends=True)
    known_sex = [lines[0]] + [line for line in lines[1:] if line.split(",")[6] != "NA"]
    follow_the_guide(project, "penguin_sex_model", PENGUINS / "sex", "".join(known_sex).encode())
    model_dir = project / "model-package"
    gates = run([sys.executable, "-m", "tox", "-e", "lint,typecheck,test_package"], model_dir)
    print(gates.stdout[gates.stdout.index("model report") :].split("\n\n")[0])
    card = json.loads(
        next((model_dir / "penguin_sex_model" / "trained_models").glob("*.json")).read_text()
    )
    assert card["classes"] == ["female", "male"]
    assert card["features"] == {"numeric": card["input_fields"], "categorical": []}
    print("penguin sex model metrics:", card["metrics"])


def test_every_estimator_by_config_alone(cookies) -> None:
    model_dir = bake_ok(cookies) / "model-package"
    config_file = model_dir / "titanic_survival_model" / "config.yml"
    original = yaml.safe_load(config_file.read_text())

    def configure(model: dict[str, object]) -> None:
        config_file.write_text(yaml.safe_dump({**original, "model": model}, sort_keys=False))

    for estimator in ("xgboost.XGBClassifier", "lightgbm.LGBMClassifier"):
        configure({"estimator": estimator, "params": {}})
        run([sys.executable, "-m", "tox", "-e", "test_package,build"], cwd=model_dir)
        (wheel,) = (model_dir / "dist").glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            (card,) = [name for name in archive.namelist() if name.endswith(".json")]
            metadata = json.loads(archive.read(card))
        assert metadata["estimator"] == estimator
        print(f"{estimator}: {metadata['metrics']}")

    configure({"estimator": "random_forest", "params": {"n_estimator": 10}})
    train = subprocess.run(
        [sys.executable, "-m", "tox", "-e", "train", "-q"],
        cwd=model_dir,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert train.returncode != 0
    (error,) = [line for line in train.stderr.splitlines() if "Training failed" in line]
    assert "model.params: 'n_estimator' is not a parameter of random_forest" in error
    assert "(did you mean 'n_estimators'?); allowed: bootstrap," in error
