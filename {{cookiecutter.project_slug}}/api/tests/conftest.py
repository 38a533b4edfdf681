import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

import {{ cookiecutter.package_name }} as model_package
from {{ cookiecutter.package_name }} import CLASSES, EXAMPLE_RECORD, InputRecord

from app.answers import CLASSIFICATION, OUTCOME
from app.config import Settings
from app.db import migrate
from app.main import create_app
from bench import servers
from bench.servers import free_port

ClientFactory = Callable[..., TestClient]
Record = dict[str, Any]
# The input record's JSON schema: tests derive their bad values from it, whatever the model.
FIELDS: dict[str, dict[str, Any]] = InputRecord.model_json_schema()["properties"]
REQUIRED: list[str] = InputRecord.model_json_schema().get("required", [])


def made_up_answers(records: int = 1) -> dict[str, list[Any]]:
    """Answers as the package gives them, for tests that write the log directly: each record a
    class and even probabilities, or a value and its interval."""
    if CLASSIFICATION:
        even = dict.fromkeys(CLASSES, 1 / len(CLASSES))
        return {"label": [CLASSES[0]] * records, "probabilities": [even] * records}
    return {"value": [1.0] * records, "lower": [0.5] * records, "upper": [1.5] * records}


def other_outcome(prediction: Record) -> Any:
    """An outcome that is not what the model answered: another class, or another number."""
    if CLASSIFICATION:
        return next(name for name in CLASSES if name != prediction["label"])
    return prediction["value"] + 1.0


def feedback_for(prediction: Record, **more: Any) -> Record:
    """The feedback body that says the model was right about `prediction`."""
    return {"prediction_id": prediction["prediction_id"], OUTCOME: prediction[OUTCOME], **more}


CHALLENGER_VERSION = f"{model_package.__version__}.post1"  # bench.servers.challenger_environment's


def challenger_file(root: Path, **fields: Any) -> Path:
    """A challenger.yml naming CHALLENGER_VERSION, with `fields` changed."""
    path = root / "challenger.yml"
    named = {"version": CHALLENGER_VERSION, "share": 1.0, "pairs": 30, "alpha": 0.05, **fields}
    path.write_text(yaml.safe_dump(named), encoding="utf-8")
    return path


def broken_copy(root: Path, damage: str) -> Path:
    """A copy of the installed model package with its trained model deleted or damaged."""
    installed = Path(model_package.__file__).parent
    copy = root / installed.name
    shutil.copytree(installed, copy, ignore=shutil.ignore_patterns("__pycache__"))
    models = copy / "trained_models"
    if damage == "no model":
        shutil.rmtree(models)
    elif damage == "wrong features":  # loads, then fails on the first prediction
        (card,) = models.glob("*.json")
        metadata = json.loads(card.read_text(encoding="utf-8"))
        metadata["features"]["numeric"].append("no_such_feature")
        card.write_text(json.dumps(metadata), encoding="utf-8")
    return root


@pytest.fixture(scope="session", autouse=True)
def prediction_log_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The tests' prediction log: a SQLite file and a spool of their own, for in-process apps and
    servers, session fixtures included (they start before spool_dir below)."""
    folder = tmp_path_factory.mktemp("database")
    url = f"sqlite:///{folder / 'prediction_log.sqlite3'}"
    ours = {"DATABASE_URL": url, "PREDICTION_LOG_SPOOL_DIR": str(folder / "spool")}
    before = {name: os.environ.get(name) for name in ours}
    os.environ.update(ours)
    yield url
    for name, value in before.items():
        if value is None:
            os.environ.pop(name)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own prediction log spool, for the apps and servers it starts: rows a test
    leaves there are never recovered into another test's database."""
    folder = tmp_path / "spool"
    monkeypatch.setenv("PREDICTION_LOG_SPOOL_DIR", str(folder))
    return folder


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    """TestClients of apps built with the given settings (the lifespan runs: the model loads)."""
    clients: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        client = TestClient(create_app(Settings(_env_file=None, **settings)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture
def example() -> Record:
    return dict(EXAMPLE_RECORD)


def field_options(name: str) -> list[dict[str, Any]]:
    """The alternatives a field's schema allows (one, or several for an optional field)."""
    spec = FIELDS[name]
    return [option for option in spec.get("anyOf", [spec]) if option.get("type") != "null"]


def nullable(name: str) -> bool:
    spec = FIELDS[name]
    return any(option.get("type") == "null" for option in spec.get("anyOf", [spec]))


def bounded_number() -> tuple[str, float] | None:
    """A numeric field with a lower bound, and a value just below it; None if there is none."""
    for name in FIELDS:
        for option in field_options(name):
            if option.get("type") in ("number", "integer") and "minimum" in option:
                return name, option["minimum"] - 1
    return None


@contextmanager
def uvicorn(log: Path | None = None, **environment: str) -> Iterator[str]:
    """The service as deployed (`python -m app.serve`) on a free loopback port, with `environment`
    added to ours; its output goes to `log` if given. Stopped by its PID afterwards."""
    with uvicorn_process(log, **environment) as (url, _):
        yield url


@contextmanager
def uvicorn_process(
    log: Path | None = None, **environment: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As uvicorn(), with the process, for a test that signals it itself."""
    with servers.uvicorn(log=log, environment={"LOG_LEVEL": "WARNING", **environment}) as server:
        yield server.url, server.process


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    with uvicorn() as url:
        yield url


def postgres_bindir() -> Path | None:
    """PostgreSQL's programs: `pg_config --bindir`, or wherever pg_ctl is on PATH."""
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        bindir = Path(found.stdout.strip())
        if (bindir / "pg_ctl").is_file():
            return bindir
    if pg_ctl := shutil.which("pg_ctl"):
        return Path(pg_ctl).resolve().parent
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))  # Debian's packages
    return installed[-1].parent if installed else None


@dataclass
class Postgres:
    """A PostgreSQL server of the tests' own, in a temporary folder on a free loopback port."""

    bindir: Path
    folder: Path
    port: int

    def run(self, program: str, *arguments: str) -> None:
        command = [str(self.bindir / program), *arguments]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "server.log")
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """SIGINT ("fast" shutdown: ends the sessions) to the postmaster, by the pid it wrote, and
        wait until it is gone."""
        pid_file = self.folder / "data" / "postmaster.pid"
        if not pid_file.is_file():
            return
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def database(self, name: str) -> str:
        """A new, empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """Skipped with the reason when PostgreSQL is not installed; in CI (CI=true) it must be."""
    bindir = postgres_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (no pg_config or pg_ctl): its tests cannot run"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    server = Postgres(bindir, folder, free_port())
    try:
        if os.geteuid() == 0:  # as root, the server runs as the postgres user the packages make
            os.chown(folder, pwd.getpwnam("postgres").pw_uid, -1)
        initdb = ["-D", str(folder / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        server.run("initdb", *initdb)
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh prediction log database: a SQLite file (the service migrates it), or a migrated
    database on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.sqlite3'}"
    server: Postgres = request.getfixturevalue("postgres")
    url = server.database(f"log_{uuid.uuid4().hex}")
    migrate(Settings(_env_file=None, database_url=url).database_url)  # as the pre-deploy does
    return url
