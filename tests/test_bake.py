"""Baking: defaults, every option value, hostile answers, the exact file set, lint."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import (
    DEFAULTS,
    LICENSE_NAMES,
    PYTHON_VERSIONS,
    TEMPLATE,
    bake_ok,
    generated_files,
    run,
)

EXPECTED_FILES = {
    ".cookiecutter.json",
    ".gitignore",
    "LICENSE",
    "README.md",
    "tox.ini",
    "model-package/README.md",
    "model-package/.dvc/.gitignore",
    "model-package/.dvc/config",
    "model-package/.dvcignore",
    "model-package/dvc.yaml",
    "model-package/pyproject.toml",
    "model-package/tox.ini",
    "model-package/scripts/bench_batch.py",
    "model-package/scripts/score_on_spark.py",
    "model-package/tests/conftest.py",
    "model-package/tests/batch_reference.py",
    "model-package/tests/batch/test_batch.py",
    "model-package/tests/batch/test_engines.py",
    "model-package/tests/code/test_config.py",
    "model-package/tests/code/test_features.py",
    "model-package/tests/code/test_publish.py",
    "model-package/tests/code/test_strict_record.py",
    "model-package/tests/data/test_dataset.py",
    "model-package/tests/example/test_titanic_data.py",
    "model-package/tests/example/test_titanic_features.py",
    "model-package/tests/example/test_titanic_model.py",
    "model-package/tests/model/test_card.py",
    "model-package/tests/model/test_drift.py",
    "model-package/tests/model/test_estimators.py",
    "model-package/tests/model/test_logged.py",
    "model-package/tests/model/test_model.py",
    "model-package/tests/model/test_predict.py",
    "model-package/tests/model/test_scores.py",
    "model-package/tests/model/test_release.py",
    "model-package/tests/model/test_stages.py",
    "model-package/tests/model/test_wheel.py",
    "model-package/{package}/VERSION",
    "model-package/{package}/__init__.py",
    "model-package/{package}/_version.py",
    "model-package/{package}/batch/__init__.py",
    "model-package/{package}/batch/__main__.py",
    "model-package/{package}/batch/engines.py",
    "model-package/{package}/batch/pool.py",
    "model-package/{package}/batch/tables.py",
    "model-package/{package}/batch/scoring.py",
    "model-package/{package}/card.py",
    "model-package/{package}/columns.py",
    "model-package/{package}/config.py",
    "model-package/{package}/config.yml",
    "model-package/{package}/data.py",
    "model-package/{package}/drift.py",
    "model-package/{package}/datasets/README.md",
    "model-package/{package}/datasets/logged/README.md",
    "model-package/{package}/datasets/titanic3.csv",
    "model-package/{package}/features.py",
    "model-package/{package}/input_schema.py",
    "model-package/{package}/logged.py",
    "model-package/{package}/metrics.py",
    "model-package/{package}/release.py",
    "model-package/{package}/persistence.py",
    "model-package/{package}/estimators.py",
    "model-package/{package}/strict_record.py",
    "model-package/{package}/predict.py",
    "model-package/{package}/py.typed",
    "model-package/{package}/results.py",
    "model-package/{package}/scores.py",
    "model-package/{package}/stages.py",
    "api/README.md",
    "api/pyproject.toml",
    "api/requirements-test.txt",
    "api/requirements.in",
    "api/requirements.txt",
    "api/scripts/install.py",
    "api/tox.ini",
    "api/app/__init__.py",
    "api/app/answers.py",
    "api/app/config.py",
    "api/app/db.py",
    "api/app/harvest.py",
    "api/app/migrate.py",
    "api/app/monitoring.py",
    "api/app/challenger.py",
    "api/app/shadow_worker.py",
    "api/app/comparison.py",
    "api/app/paired_test.py",
    "api/challenger.yml",
    "api/app/alerts/__init__.py",
    "api/app/alerts/__main__.py",
    "api/app/alerts/checks.py",
    "api/app/alerts/readings.py",
    "api/app/alerts/rules.py",
    "api/alerts.yml",
    "api/app/outcomes.py",
    "api/app/prediction_log/__init__.py",
    "api/app/prediction_log/ids.py",
    "api/app/prediction_log/personal_data.py",
    "api/app/prediction_log/retention.py",
    "api/app/prediction_log/rows.py",
    "api/app/prediction_log/spool.py",
    "api/app/prediction_log/writer.py",
    "api/alembic.ini",
    "api/migrations/env.py",
    "api/migrations/script.py.mako",
    "api/migrations/versions/0001_prediction_log.py",
    "api/migrations/versions/0002_regression_answers.py",
    "api/migrations/versions/0003_alert_state.py",
    "api/migrations/versions/0004_shadow_rows.py",
    "api/app/logging_setup.py",
    "api/app/pages/__init__.py",
    "api/app/pages/form.html",
    "api/app/pages/form.py",
    "api/app/pages/monitoring.py",
    "api/app/main.py",
    "api/app/metrics.py",
    "api/app/middleware.py",
    "api/app/predictor.py",
    "api/app/serve.py",
    "api/app/schemas.py",
    "api/app/api/__init__.py",
    "api/app/api/deps.py",
    "api/app/api/routes/__init__.py",
    "api/app/api/routes/feedback.py",
    "api/app/api/routes/health.py",
    "api/app/api/routes/model.py",
    "api/app/api/routes/monitoring.py",
    "api/app/api/routes/predict.py",
    "api/app/api/routes/pages.py",
    "api/tests/conftest.py",
    "api/tests/test_bytecode.py",
    "api/tests/test_contract.py",
    "api/tests/test_smoke_check.py",
    "api/tests/test_faults.py",
    "api/tests/test_alerts.py",
    "api/tests/test_challenger.py",
    "api/tests/test_paired_test.py",
    "api/tests/test_alert_rules.py",
    "api/tests/test_harvest.py",
    "api/tests/test_fuzz.py",
    "api/tests/test_lock.py",
    "api/tests/test_logging.py",
    "api/tests/test_monitoring.py",
    "api/tests/test_operations.py",
    "api/tests/test_predict.py",
    "api/tests/test_prediction_log.py",
    "api/tests/test_prediction_log_soak.py",
    "api/tests/test_security.py",
    "api/tests/test_server.py",
    "api/tests/test_pages.py",
    "api/tests/test_python_version.py",
    "api/.dockerignore",
    "api/.python-version",
    "api/Dockerfile",
    "api/Procfile",
    "api/railway.json",
    "api/railway.alerts.json",
    "api/grafana-dashboard.json",
    "api/scripts/smoke_check.py",
    "api/bench/__init__.py",
    "api/bench/bare_app.py",
    "api/bench/locustfile.py",
    "api/bench/load.py",
    "api/bench/report.py",
    "api/bench/run.py",
    "api/bench/servers.py",
    ".circleci/config.yml",
    "model-package/scripts/gate.py",
    "model-package/scripts/publish.py",
    "model-package/scripts/retrain.sh",
}
UNRENDERED = re.compile(r"{{|{%|{#")
# CircleCI's own template syntax, which the generated config must keep.
CIRCLECI_CHECKSUM = re.compile(r'{{ checksum "[^"]+" }}')
LICENSES = {
    "MIT": ("MIT License", 'license = "MIT"'),
    "GPL-3.0": ("GNU GENERAL PUBLIC LICENSE", 'license = "GPL-3.0-only"'),
    "AGPL-3.0": ("GNU AFFERO GENERAL PUBLIC LICENSE", 'license = "AGPL-3.0-only"'),
    "Proprietary": ("All rights reserved.", 'license = "LicenseRef-Proprietary"'),
}


def pyproject(project: Path) -> dict:
    return tomllib.loads((project / "model-package" / "pyproject.toml").read_text())


def answers(project: Path) -> dict[str, str]:
    return json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]


def ruff(project: Path) -> None:
    """Lint and format-check both parts, each with its own settings."""
    ruff_bin = (sys.executable, "-m", "ruff")
    for part in ("model-package", "api"):
        run([*ruff_bin, "check", "--no-cache", "."], cwd=project / part)
        run([*ruff_bin, "format", "--no-cache", "--check", "."], cwd=project / part)


def test_defaults(cookies) -> None:
    project = bake_ok(cookies)
    assert project.name == DEFAULTS["project_slug"]
    expected = {name.format(package=DEFAULTS["package_name"]) for name in EXPECTED_FILES}
    assert generated_files(project) == expected
    metadata = pyproject(project)["project"]
    assert metadata["name"] == DEFAULTS["distribution_name"]
    assert metadata["requires-python"] == f">={PYTHON_VERSIONS[0]}"
    version_file = project / "model-package" / DEFAULTS["package_name"] / "VERSION"
    assert version_file.read_text() == "0.1.0\n"
    ruff(project)


def test_no_unrendered_template_syntax(cookies) -> None:
    project = bake_ok(cookies)
    leftovers = [
        f"{path.relative_to(project)}:{number}: {line.strip()}"
        for path in project.rglob("*")
        if path.is_file() and path.suffix != ".csv"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNRENDERED.search(CIRCLECI_CHECKSUM.sub("", line))
    ]
    assert leftovers == []


@pytest.mark.parametrize("license_name", LICENSE_NAMES)
def test_each_license(cookies, license_name: str) -> None:
    project = bake_ok(cookies, open_source_license=license_name, author_name="Ada Lovelace")
    heading, pyproject_line = LICENSES[license_name]
    license_text = (project / "LICENSE").read_text()
    assert heading in license_text
    assert not (project / "licenses").exists()
    assert pyproject_line in (project / "model-package" / "pyproject.toml").read_text()
    if license_name in ("MIT", "Proprietary"):
        assert "Ada Lovelace" in license_text
    assert f"License-{license_name.replace('-', '--')}" in (project / "README.md").read_text()


@pytest.mark.parametrize("python_version", PYTHON_VERSIONS)
def test_each_python_version(cookies, python_version: str) -> None:
    project = bake_ok(cookies, python_version=python_version)
    config = pyproject(project)
    assert config["project"]["requires-python"] == f">={python_version}"
    assert config["tool"]["ruff"]["target-version"] == f"py{python_version.replace('.', '')}"
    assert config["tool"]["mypy"]["python_version"] == python_version
    tox_ini = (project / "model-package" / "tox.ini").read_text()
    assert f"base_python = python{python_version}" in tox_ini
    ruff(project)


def test_custom_names_and_version(cookies) -> None:
    project = bake_ok(
        cookies,
        project_name="Churn Predictor",
        package_name="churn",
        distribution_name="acme-churn",
        version="2.3.0rc1",
        default_branch="release/prod",
    )
    assert project.name == "churn-predictor"
    assert (project / "model-package" / "churn" / "predict.py").is_file()
    assert pyproject(project)["project"]["name"] == "acme-churn"
    assert (project / "model-package" / "churn" / "VERSION").read_text() == "2.3.0rc1\n"
    assert answers(project)["default_branch"] == "release/prod"
    ruff(project)


HOSTILE_BUT_VALID = [
    {"project_name": "O'Connor's \"Survival\" Model"},
    {"project_name": 'Triple """ quotes'},
    {"project_name": "Back\\slash \\ name"},
    {"description": 'Ends in a quote"'},
    {"description": "Quotes ''' and \"\"\" and a backslash \\"},
    {"author_name": "Zoë O'Brien-Δ"},
    {"project_name": "Título Ñandú"},
    {"project_name": "A long name, with 'quotes' and ünïcödé " * 3, "project_slug": "long"},
]


@pytest.mark.parametrize("context", HOSTILE_BUT_VALID, ids=lambda c: repr(c)[:40])
def test_hostile_answers_bake_a_valid_project(cookies, context: dict[str, str]) -> None:
    project = bake_ok(cookies, **context)
    metadata = pyproject(project)["project"]
    if "description" in context:
        assert metadata["description"] == context["description"]
    if "author_name" in context:
        assert metadata["authors"][0]["name"] == context["author_name"]
    recorded = answers(project)
    for key, value in context.items():
        assert recorded[key] == value
    ruff(project)


def test_injection_in_answers_runs_nothing(cookies, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f'"""; import os; os.system("touch {marker}"); """'
    project = bake_ok(
        cookies, project_name='x"""; import os #', description=payload, author_name=payload
    )
    assert not marker.exists()
    assert pyproject(project)["project"]["description"] == payload
    assert answers(project)["author_name"] == payload
    ruff(project)


def test_the_api_names_nothing_of_the_example(cookies) -> None:
    """The API reads the model from the package's contract: no word of the Titanic example."""
    project = bake_ok(cookies, project_name="Churn Predictor")
    example_words = re.compile("titanic|passenger|surviv|pclass|fare|cabin|embarked", re.I)
    found = [
        f"{path.relative_to(project)}:{number}: {line.strip()}"
        for path in sorted((project / "api").rglob("*"))
        if path.is_file()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if example_words.search(line)
    ]
    assert found == []


def test_longest_names_pass_lint(cookies) -> None:
    project = bake_ok(
        cookies, project_slug="s" * 60, package_name="p" * 40, distribution_name="d" * 60
    )
    ruff(project)


FAILING = [
    ({"package_name": "class"}, "package_name ('class') is not a valid"),
    ({"package_name": "json"}, "use 'my_json' instead"),
    ({"package_name": "2fast"}, "use 'my_2fast' instead"),
    ({"package_name": "p" * 41}, "is longer than 40 characters"),
    ({"project_slug": "s" * 61}, "project_slug ('" + "s" * 61 + "') is longer than 60"),
    ({"distribution_name": "d" * 61}, "is longer than 60 characters"),
    ({"package_name": 'x"); import os; os.system("id") #'}, "package_name ("),
    ({"project_slug": "Bad Slug!"}, "project_slug ('Bad Slug!') must be lowercase"),
    ({"project_slug": "../escape"}, "project_slug ('../escape')"),
    ({"distribution_name": "-bad-"}, "distribution_name ('-bad-') is not a valid PEP 508 name"),
    ({"version": "1.0-beta"}, "version ('1.0-beta') is not a canonical PEP 440 version"),
    ({"version": "v1"}, "version ('v1')"),
    ({"email": "bob"}, "email ('bob') does not look like an e-mail address"),
    ({"default_branch": "feature..x"}, "default_branch ('feature..x') is not a valid git branch"),
    ({"project_name": "!!!"}, "project_name ('!!!') has no letters or digits"),
    ({"description": "two\nlines"}, "description ('two\\nlines') contains a line break"),
    ({"author_name": "  "}, "author_name is empty"),
    ({"project_name": "A rather long project name for a model"}, "package_name ('a_rather_"),
]


@pytest.mark.parametrize(("context", "message"), FAILING, ids=lambda c: repr(c)[:40])
def test_bad_answers_fail_cleanly(tmp_path: Path, context: dict[str, str], message: str) -> None:
    output = tmp_path / "out"
    output.mkdir()
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", output, TEMPLATE]
    command += [f"{key}={value}" for key, value in context.items()]
    completed = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, timeout=120
    )
    assert completed.returncode == 1
    errors = [line for line in completed.stderr.splitlines() if line.startswith("ERROR: ")]
    assert any(message in line for line in errors), completed.stderr
    assert list(output.iterdir()) == []
    assert not (tmp_path / "escape").exists()


def test_every_problem_is_reported_at_once(cookies, capfd: pytest.CaptureFixture[str]) -> None:
    result = cookies.bake(extra_context={"version": "x", "email": "y", "package_name": "def"})
    assert result.exit_code != 0
    assert result.project_path is None or not Path(result.project_path).exists()
    reported = capfd.readouterr()
    errors = [line for line in (reported.out + reported.err).splitlines() if "ERROR" in line]
    for answer in ("version ('x')", "email ('y')", "package_name ('def')"):
        assert any(answer in line for line in errors), (answer, errors)


def test_replay_from_recorded_answers(cookies, tmp_path: Path) -> None:
    project = bake_ok(cookies, project_name="Replay Me", open_source_license="GPL-3.0")
    output = tmp_path / "replayed"
    replay_file = project / ".cookiecutter.json"
    command = [sys.executable, "-m", "cookiecutter", "--replay-file", replay_file, "-o", output]
    run([*command, TEMPLATE], cwd=tmp_path)
    replayed = output / project.name
    assert generated_files(replayed) == generated_files(project)
    for name in generated_files(project):
        assert (replayed / name).read_bytes() == (project / name).read_bytes(), name


def test_git_ignores_what_the_tools_write(cookies) -> None:
    """tox 4.67 writes a `.venv` *file* (not a folder) into each part it runs in; the builds, the
    caches and the local prediction log are never committed either; the DVC record is."""
    project = bake_ok(cookies)
    run(["git", "init", "-q"], cwd=project)
    written = [
        ".venv",
        "model-package/.venv",
        "api/.venv",
        "api/.tox/test_app/pyvenv.cfg",
        "api/data/prediction_log.sqlite3",
        "api/.challenger/bin/python",
        "model-package/dist/model.whl",
        "model-package/data/prepared/train.jsonl",
        "model-package/titanic_survival_model/trained_models/model.onnx",
        "api/app/__pycache__/main.cpython-311.pyc",
    ]
    kept = ["model-package/reports/metrics.json", "model-package/dvc.lock"]
    for name in [*written, *kept]:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("")
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", *written, *kept],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.stdout.split() == written
