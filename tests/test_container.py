"""Slow tier: the API's image, built and started with podman by api/README.md's own commands.

The model's wheel goes to a real pypiserver with a password; the image is built with that index's
URL as a build secret, then run with SQLite on a volume (kept through a restart) and with a real
PostgreSQL on the host, migrated by railway.json's pre-deploy command. A saved image, its history
and its config never hold the index's password; a control image built to leak it does.

The README's commands run as written. To `podman run` the test adds only `-d`, a name and PORT.
What the machine needs, not the project, is in CONTAINERS_CONF: host networking (the index and
PostgreSQL listen on loopback, so `-p` does not apply), the host's CA bundle (pip may reach its
index through a TLS proxy), and what a VM without systemd needs (runc, cgroupfs, file events,
ulimits under the hard limit). Images, containers and volumes live in a store of the test's own
(CONTAINERS_STORAGE_CONF), removed afterwards. The Dockerfile's FROM image is made from Debian's
packages by mmdebstrap (so only python:3.11-slim, the default, has a stand-in), cached as a tarball
in BASE_CACHE and imported there under the official image's name: no container registry is reached.
"""

import concurrent.futures
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    clean_environment,
    golden_path,
    postgres_bindir,
    postgres_server,
    ran_as_written,
    readme_commands,
    run,
    run_as_written,
    system_program,
)

pytestmark = pytest.mark.slow

PASSWORD = secrets.token_urlsafe(16)
BASE_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlops-template"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CONTAINERS_CONF = f"""\
[containers]
netns = "host"
volumes = ["{CA_BUNDLE}:{CA_BUNDLE}:ro"]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
"""
ADDED_LAYERS_BUDGET_MB = 200


@dataclass
class Image:
    project: Path
    tag: str
    base: str
    volume: str
    environment: dict[str, str]  # CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, MODEL_INDEX_URL
    run_commands: list[str]  # the README's `podman run` lines, in order


def podman(image: Image, *arguments: str, timeout: int = 900) -> str:
    return run(["podman", *arguments], image.project, image.environment, timeout).stdout.strip()


def base_image(dockerfile: Path, environment: dict[str, str]) -> str:
    """The Dockerfile's FROM image, as podman finds it: Debian bookworm's Python (3.11), with
    pip and venv as upstream has them, imported under the official image's name from a tarball
    that mmdebstrap makes in BASE_CACHE (named by its recipe, so a new recipe makes a new one)."""
    bases = set(re.findall(r"^FROM (\S+)", dockerfile.read_text(), re.MULTILINE))
    assert bases == {"python:3.11-slim"}, "Debian bookworm's python3 stands in for 3.11 only"
    packages = "python3,python3-pip,python3-venv,python-is-python3,passwd,ca-certificates"
    unmanaged = 'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED'  # pip installs, as upstream
    command = ["mmdebstrap", "--variant=minbase", "--format=tar", f"--include={packages}"]
    command += [f"--customize-hook={unmanaged}", "bookworm"]
    recipe = hashlib.sha256(json.dumps(command).encode()).hexdigest()[:12]
    tarball = BASE_CACHE / f"python-3.11-slim-{recipe}.tar"
    if not tarball.is_file():
        BASE_CACHE.mkdir(parents=True, exist_ok=True)
        sources = Path("/etc/apt/sources.list.d/debian.sources")  # the machine's own mirror
        with sources.open() as stdin:
            made = subprocess.run(
                [*command, f"{tarball}.part", "-"], stdin=stdin, capture_output=True, timeout=900
            )
        assert made.returncode == 0, made.stderr.decode()[-3000:]
        os.replace(f"{tarball}.part", tarball)
    name = "docker.io/library/python:3.11-slim"
    run(["podman", "import", "--change", 'CMD ["python3"]', tarball, name], BASE_CACHE, environment)
    return name


@pytest.fixture(scope="module")
def image(
    baked_project: Path, model_wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Image]:
    """The wheel published to a password-protected index; the image built from it as the README
    says. Removed afterwards with its containers and volume."""
    for program in ("podman", "mmdebstrap", "runc"):
        if not system_program(program):
            pytest.skip(f"{program} is not installed")
    folder = tmp_path_factory.mktemp("container")
    (folder / "containers.conf").write_text(CONTAINERS_CONF)
    store = f'[storage]\ndriver = "overlay"\ngraphroot = "{folder}/store"\nrunroot = "{folder}/run"'
    (folder / "storage.conf").write_text(store)
    environment = clean_environment(
        CONTAINERS_CONF=str(folder / "containers.conf"),
        CONTAINERS_STORAGE_CONF=str(folder / "storage.conf"),
    )
    api = baked_project / "api"
    base = base_image(api / "Dockerfile", environment)
    commands = [
        line
        for line in readme_commands(api / "README.md")
        if line.startswith(("podman ", "cp model-package/"))
    ]
    build = [line for line in commands if line.startswith("podman build ")]
    (tag,) = re.findall(r" -t (\S+) api$", build[0])
    volume = re.findall(r" -v (\S+):/app/data ", commands[-1])[0]
    with golden_path.serving(golden_path.start_index(folder / "index", PASSWORD)) as index:
        golden_path.publish(baked_project, index, PASSWORD)
        environment["MODEL_INDEX_URL"] = golden_path.index_url_with_credentials(index, PASSWORD)
        built = Image(baked_project, tag, base, volume, environment, [])
        started = time.monotonic()
        for line in commands:
            if line.startswith("podman run "):
                built.run_commands.append(line)
            else:
                run_as_written([line], baked_project, environment)
        print(f"build: {time.monotonic() - started:.0f} s (base {base})")
    try:
        yield built
    finally:
        if left := podman(built, "ps", "--all", "--quiet", "--filter", f"ancestor={tag}"):
            podman(built, "rm", "--force", *left.split())
        podman(built, "volume", "rm", "--force", volume)
        podman(built, "rmi", "--all", "--force")  # the store is the test's own
        shutil.rmtree(folder / "store", ignore_errors=True)


def call(url: str, body: object = None) -> tuple[int, Any]:
    """GET, or POST `body` as JSON: the status and the JSON answer; 503 is retried for 20 s (an
    outcome for a prediction whose row is not in the log yet)."""
    data = None if body is None else json.dumps(body).encode()
    deadline = time.monotonic() + 20
    while True:
        request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503 or time.monotonic() > deadline:
                return error.code, json.loads(error.read())
        time.sleep(0.5)


def start(image: Image, command: str, **environment: str) -> tuple[str, str, float]:
    """A README `podman run` line, with `-d`, a name and PORT added; once /ready first answers
    200: the container's name, its URL and the seconds that took."""
    name, port = f"api-{secrets.token_hex(4)}", golden_path.free_port()
    detached = command.replace("podman run ", f"podman run -d --name {name} -e PORT={port} ", 1)
    started = time.monotonic()
    run(["bash", "-c", detached], image.project, {**image.environment, **environment})
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(url + "/ready", timeout=5):
                ran_as_written([command])  # with -d, a name and PORT added
                return name, url, time.monotonic() - started
        except OSError:  # not listening yet, or 503 while the model loads
            if time.monotonic() - started > 120:
                pytest.fail(f"{url}/ready: no 200 within 120 s\n{podman(image, 'logs', name)}")
            time.sleep(0.1)


def stop(image: Image, name: str) -> None:
    """SIGTERM, as a platform stops a container: the service ends its writes and exits."""
    podman(image, "stop", "--time", "30", name)
    podman(image, "rm", name)


def round_trip(image: Image, url: str) -> tuple[str, str]:
    """The README's smoke check (the OpenAPI example predicted by the expected model), then its
    outcome sent back twice: recorded, then acknowledged. The prediction's id and label."""
    commands = readme_commands(image.project / "api" / "README.md")
    (smoke,) = [line for line in commands if "smoke_check.py" in line]
    environment = {**image.environment, "SERVICE_URL": url, "SMOKE_TIMEOUT": "30"}
    answer = json.loads(run_as_written([smoke], image.project, environment).stdout)
    assert answer["ready"] == "ready" and answer["model_version"] == "0.1.0"
    outcome = {"prediction_id": answer["prediction_id"], "label": answer["label"]}
    assert call(url + "/api/v1/feedback", outcome)[0] == 201
    assert call(url + "/api/v1/feedback", outcome)[0] == 200
    return answer["prediction_id"], answer["label"]


def user_and_health(image: Image, name: str) -> None:
    assert podman(image, "exec", name, "id", "-u") == "10001"
    podman(image, "healthcheck", "run", name)  # the image's HEALTHCHECK, run now: fails if not 0
    assert podman(image, "inspect", "--format", "{{.State.Health.Status}}", name) == "healthy"


def example_records(url: str) -> list[dict[str, Any]]:
    openapi = call(url + "/openapi.json")[1]
    records = openapi["components"]["schemas"]["PredictionRequest"]["properties"]["records"]
    example: list[dict[str, Any]] = records["examples"][0]
    return example


def resident_mb(image: Image, name: str) -> float:
    """The resident memory of every process in the container, in MB."""
    pids = podman(image, "top", name, "hpid").split()[1:]
    status = [Path(f"/proc/{pid}/status").read_text() for pid in pids]
    return sum(int(re.findall(r"^VmRSS:\s+(\d+) kB", text, re.M)[0]) for text in status) / 1000


def load(url: str, requests: int = 400, threads: int = 4) -> tuple[int, float]:
    """`requests` predictions of the OpenAPI example from `threads` clients: the records sent,
    and the p50 in ms."""
    body = {"records": example_records(url)}

    def one(_: int) -> float:
        started = time.monotonic()
        assert call(url + "/api/v1/predict", body)[0] == 200
        return (time.monotonic() - started) * 1000

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        latencies = sorted(pool.map(one, range(requests)))
    return requests * len(body["records"]), latencies[len(latencies) // 2]


def test_the_image_runs_as_its_user_within_its_budget(image: Image) -> None:
    inspect = json.loads(podman(image, "image", "inspect", image.tag))[0]
    assert inspect["Config"]["User"] == "10001"
    assert "/ready" in " ".join(inspect["Healthcheck"]["Test"])  # kept by --format docker
    base = json.loads(podman(image, "image", "inspect", image.base))
    added = (inspect["Size"] - base[0]["Size"]) / 1e6
    history = podman(image, "history", "--format", "{{.Size}}\t{{.CreatedBy}}", image.tag)
    print(f"image {inspect['Size'] / 1e6:.0f} MB: the base {base[0]['Size'] / 1e6:.0f} MB and")
    print(f"{added:.0f} MB of layers the Dockerfile adds (budget {ADDED_LAYERS_BUDGET_MB} MB)")
    print("\n".join(line[:110] for line in history.splitlines()))
    assert added <= ADDED_LAYERS_BUDGET_MB
    unneeded = ["pip", "pytest", "sklearn", "skl2onnx", "pandas", "matplotlib"]  # tools, training
    probe = f"import importlib.util as u; print([m for m in {unneeded!r} if u.find_spec(m)])"
    assert podman(image, "run", "--rm", image.tag, "python", "-c", probe) == "[]"
    assert podman(image, "run", "--rm", image.tag, "sh", "-c", "command -v gcc cc strip || :") == ""


def test_sqlite_on_a_volume_keeps_its_rows_through_a_restart(image: Image) -> None:
    name, url, seconds = start(image, image.run_commands[0])
    print(f"run to the first 200 on /ready: {seconds:.1f} s")
    user_and_health(image, name)
    prediction_id, label = round_trip(image, url)
    idle = resident_mb(image, name)
    records, p50 = load(url)
    print(f"resident memory: {idle:.0f} MB idle, {resident_mb(image, name):.0f} MB after")
    print(f"{records} records in 400 requests from 4 clients (p50 {p50:.1f} ms)")
    stop(image, name)

    mountpoint = podman(image, "volume", "inspect", "--format", "{{.Mountpoint}}", image.volume)
    with sqlite3.connect(Path(mountpoint) / "prediction_log.sqlite3") as log:
        assert log.execute("SELECT count(*) FROM predictions").fetchone() == (1 + records,)
        outcome = "SELECT label FROM feedback WHERE prediction_id = ?"
        assert log.execute(outcome, (prediction_id,)).fetchall() == [(label,)]

    name, url, seconds = start(image, image.run_commands[0])
    print(f"restarted on the same volume: the first 200 on /ready after {seconds:.1f} s")
    again = {"prediction_id": prediction_id, "label": label}
    assert call(url + "/api/v1/feedback", again)[0] == 200  # the row and its outcome are back
    quality = call(url + "/api/v1/monitoring/quality")[1]
    (version,) = quality["versions"]
    assert (version["predictions"], version["with_outcome"]) == (1 + records, 1)
    stop(image, name)


def test_postgresql_migrated_by_the_pre_deploy_command(image: Image, tmp_path: Path) -> None:
    migrate, serve = image.run_commands[1:]
    railway = golden_path.railway_config(image.project)
    (pre_deploy,) = railway["deploy"]["preDeployCommand"]
    assert migrate.endswith(f" {image.tag} {pre_deploy}")
    with postgres_server() as database_url:
        environment = {**image.environment, "DATABASE_URL": database_url}
        run_as_written([migrate], image.project, environment)
        name, url, seconds = start(image, serve, DATABASE_URL=database_url)
        print(f"with PostgreSQL: the first 200 on /ready after {seconds:.1f} s")
        user_and_health(image, name)
        prediction_id, label = round_trip(image, url)
        stop(image, name)
        port = database_url.rsplit(":", 1)[1].split("/")[0]
        query = (
            "SELECT p.model_version, f.label FROM predictions p JOIN feedback f "
            f"ON f.prediction_id = p.id WHERE p.id = '{prediction_id}'"
        )
        psql = [postgres_bindir() / "psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres"]
        found = run([*psql, "-tAc", query], tmp_path).stdout.strip()
    print(f"PostgreSQL row of {prediction_id}: {found}")
    assert found == f"0.1.0|{label}"


def occurrences(image: Image, tag: str, folder: Path) -> dict[str, int]:
    """How often the index password is in the saved image: every file of every layer (names and
    contents), the config and manifest, and the history podman shows."""
    archive, needle = folder / f"{tag}.tar", PASSWORD.encode()
    podman(image, "save", "--format", "docker-archive", "--output", str(archive), tag)
    counts = {"layers": 0, "config and manifest": 0}
    with tarfile.open(archive) as saved:
        for member in saved:
            stream = saved.extractfile(member)
            if stream is None:
                continue
            if not member.name.endswith(".tar"):
                counts["config and manifest"] += stream.read().count(needle)
                continue
            with tarfile.open(fileobj=stream, mode="r|") as layer:
                for entry in layer:
                    counts["layers"] += f"{entry.name} {entry.linkname}".encode().count(needle)
                    if entry.isfile() and (content := layer.extractfile(entry)):
                        counts["layers"] += content.read().count(needle)
    archive.unlink()
    counts["history"] = podman(image, "history", "--no-trunc", tag).count(PASSWORD)
    return counts


def test_no_layer_history_or_config_holds_the_credential(image: Image, tmp_path: Path) -> None:
    found = occurrences(image, image.tag, tmp_path)
    print(f"the index password in {image.tag}: {found}")
    assert sum(found.values()) == 0

    # The mistakes the scan is for: the credential as a build argument, and in a pip.conf.
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / "Dockerfile").write_text(
        "FROM python:3.11-slim\nARG MODEL_INDEX_URL\n"
        "RUN printf '[global]\\nindex-url = %s\\n' \"$MODEL_INDEX_URL\" > /etc/pip.conf\n"
    )
    control = f"{image.tag}-leaky"
    build = ["build", "--format", "docker", "--build-arg", "MODEL_INDEX_URL", "-t", control]
    podman(image, *build, str(leaky))
    try:
        leaked = occurrences(image, control, tmp_path)
    finally:
        podman(image, "rmi", "--force", control)
    print(f"the index password in a control image built with ARG: {leaked}")
    assert min(leaked.values()) >= 1
