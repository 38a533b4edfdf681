"""Helpers shared by the template's test modules (conftest.py holds the fixtures)."""

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
# The demo's steps and helpers are the tests' too (tests/test_private_index.py runs them).
sys.path.insert(0, str(TEMPLATE / "demo"))
import golden_path  # noqa: E402
from golden_path import clean_environment  # noqa: E402 - shared with the test modules

# The prompts and their choices: the option matrices of the tests come from here.
COOKIECUTTER = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
PYTHON_VERSIONS: list[str] = COOKIECUTTER["python_version"]
LICENSE_NAMES: list[str] = COOKIECUTTER["open_source_license"]
DEFAULTS = {
    "project_slug": "titanic-survival",
    "package_name": "titanic_survival_model",
    "distribution_name": "titanic-survival-model",
}


def run(
    command: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """The demo's run(); on failure the test fails with the command's whole output."""
    try:
        return golden_path.run(command, cwd, env, timeout)
    except golden_path.StepFailed as error:
        pytest.fail(str(error))


# .ci/run installs Chromium and wrk and sets this: there, a missing one fails the run. The README's
# command installs neither, so elsewhere the parts that need them are skipped, with the reason.
REQUIRE_SYSTEM_PROGRAMS = os.environ.get("REQUIRE_SYSTEM_PROGRAMS") == "1"


def system_program(name: str, package: str | None = None) -> bool:
    """Whether a system program is on PATH; a missing one fails when CI requires it."""
    if shutil.which(name):
        return True
    install = f"apt-get install {package or name}"
    if REQUIRE_SYSTEM_PROGRAMS:
        pytest.fail(f"{name} is not installed; CI machines have it ({install})")
    print(f"{name} is not installed ({install}): the part that needs it is skipped")
    return False


def api_gates(project: Path, tests: str = "test_app") -> str:
    """The API's tests against the model package's wheel in model-package/dist, by the command of
    api/README.md that ends in `tox -e ...<tests>`, run as written in api/ (test_app: with lint
    and types; test_app_all: with the heavy tier); its pytest report. Its tests never touch the
    project's own prediction log.

    With Chromium here, its browser test must run and pass; without, it must say why it skipped.
    """
    commands = readme_commands(project / "api" / "README.md")
    (command,) = [line for line in commands if re.search(rf"tox -e (\S+,)?{tests}$", line)]
    browser = system_program("chromium")
    environment = clean_environment(PYTEST_ADDOPTS="-rA")  # what passing tests print, too
    if browser:
        environment["REQUIRE_BROWSER"] = "1"  # a browser test that cannot start fails
    report = run_as_written([command], cwd=project / "api", env=environment).stdout
    assert_api_report(project, report, browser)
    return report


def assert_api_report(project: Path, report: str, browser: bool) -> None:
    """What an API test run printed with -rA: the real server and (with Chromium) the browser
    passed, and the project's own prediction log was never touched."""
    assert not (project / "api" / "data").exists(), "a test wrote to the developer's log"
    assert "PASSED tests/test_server.py::test_real_server_answers" in report
    if browser:
        assert "PASSED tests/test_server.py::test_browser_fills_the_form" in report
        assert "no Chromium at" not in report  # other tests may skip: a model without personal data
    else:
        assert "SKIPPED" in report
        assert "no Chromium at" in report


def python_in(venv: Path) -> Path:
    return venv / "bin" / "python"


def make_venv(path: Path, *requirements: str | Path, seed: bool = False) -> Path:
    """A fresh virtual environment made (and filled) by uv: seconds instead of pip's half-minute;
    `seed`: with pip in it, for a command that runs `python -m pip`."""
    uv = (sys.executable, "-m", "uv")
    seeded = ["--seed"] if seed else []
    run([*uv, "venv", "--quiet", *seeded, "--python", sys.executable, path], cwd=path.parent)
    if requirements:
        run(
            [*uv, "pip", "install", "--quiet", "--python", python_in(path), *requirements],
            cwd=path.parent,
        )
    return path


def readme_blocks(readme: Path) -> list[list[str]]:
    """The commands of each of a README's console blocks, exactly as written (a trailing comment
    after two spaces dropped)."""
    blocks = re.findall(r"```console\n(.*?)```", readme.read_text(encoding="utf-8"), re.DOTALL)
    return [
        [re.sub(r"\s{2,}#.*$", "", line.strip()) for line in block.splitlines() if line.strip()]
        for block in blocks
    ]


def readme_commands(readme: Path) -> list[str]:
    """Every command of a README's console blocks, in order."""
    return [command for block in readme_blocks(readme) for command in block]


def readme_block(readme: Path, containing: str) -> list[str]:
    """The one console block of a README that has a command containing `containing`."""
    (block,) = [block for block in readme_blocks(readme) if any(containing in c for c in block)]
    return block


# README commands run as written in this session, and by which test: at the end of the whole slow
# tier, conftest.py checks that every command of the default bake's READMEs is here or excused.
RAN_AS_WRITTEN: dict[str, str] = {}
# What cannot run here as written, and where the same work is tested instead.
NOT_RUN_HERE = {
    r"^git push$": "pushes to the team's remote, which a bake has not",
    r"^PYSPARK_PYTHON=.* spark-submit --master yarn ": "needs a YARN cluster and S3; the scorer "
    "runs on Spark local[2] in tox -e test_engines",
    r"^(python -m venv batch-env|batch-env/bin/)": "packs an environment for that cluster",
    r"^tox -e bench_batch$": "a benchmark of minutes, for a quiet machine; tox -e test_engines "
    "runs its engines",
    r'^git add -A && git commit -m "A new model: ': "commits a swap; the swap tests compare the "
    "files before and after instead",
    r"\.batch customers\.csv scores\.parquet$": "a reader's own table; the next block scores the "
    "example's, as written",
    r"^tox -e lock -- --upgrade$": "moves every pin to the newest release: a change to review",
    r"^MODEL_WHEEL=\.\./model-package/dist tox -e lint,typecheck,test_app$": "the root's tox -e "
    "check runs these envs on that wheel; test_api.py runs the README's test_app_all line",
    r"^curl .*\$VALUE}\"$": "a regression's outcome; the mass swap's API tests send it",
}


def run_as_written(
    commands: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """README commands as written, in one bash (a variable one sets holds for the next; the first
    to fail stops it), recorded as run by the current test."""
    done = run(["bash", "-ec", "\n".join(commands)], cwd=cwd, env=env, timeout=timeout)
    ran_as_written(commands)
    return done


def ran_as_written(commands: Sequence[str]) -> None:
    """Record README commands a test ran as written by other means (a server it started)."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    for command in commands:
        RAN_AS_WRITTEN.setdefault(command, test)


def not_run_as_written(commands: Sequence[str]) -> list[str]:
    """Commands neither run as written in this session nor excused in NOT_RUN_HERE."""
    return [
        command
        for command in commands
        if command not in RAN_AS_WRITTEN
        and not any(re.search(pattern, command) for pattern in NOT_RUN_HERE)
    ]


def readme_environment(**extra: str) -> dict[str, str]:
    """What a person's shell has that a test's may lack: a git identity; the browser required
    where Chromium is installed."""
    environment = clean_environment(
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        **extra,
    )
    if shutil.which("chromium"):
        environment["REQUIRE_BROWSER"] = "1"
    return environment


def bake_ok(cookies, **context: str) -> Path:
    result = cookies.bake(extra_context=context)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return Path(result.project_path)


def generated_files(project: Path) -> set[str]:
    return {str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()}


def postgres_bindir() -> Path | None:
    """PostgreSQL's programs: where pg_ctl is on PATH, or Debian's packages' folder."""
    if pg_ctl := shutil.which("pg_ctl"):
        return Path(pg_ctl).resolve().parent
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return installed[-1].parent if installed else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of the test's own in a folder of its own under /tmp (which the postgres
    user can reach, unlike pytest's), on a free loopback port, trusting local connections; its
    URL (the `postgres` database). Stopped by pg_ctl, its folder removed."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        os.chown(folder, pwd.getpwnam("postgres").pw_uid, -1)
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", golden_path.free_port()
    pg_ctl = [*as_owner, bindir / "pg_ctl", "-D", data]
    try:
        initdb = [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        run([*as_owner, *initdb], cwd=folder)
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        run([*pg_ctl, "-o", options, "-l", folder / "log", "-w", "start"], cwd=folder)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():  # "fast": ends the sessions; waits for the exit
            subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)
