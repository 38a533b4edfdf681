"""The template's golden path, run for real on this machine.

bake -> start a private index (pypiserver, htpasswd) -> train and test -> gate against the index
-> build -> publish with the project's own tox envs -> install the API from the index as the PaaS
does -> serve it with the start command of railway.json -> send a real prediction -> send a
shifted batch and its outcomes, and read the live quality and drift. `tox -e demo`
runs it; the template's end-to-end test reuses these steps.
"""

import argparse
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[1]
INDEX_USER = "publisher"


class StepFailed(RuntimeError):
    """A command of the golden path failed; the message carries its output."""


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without tox's own variables, plus `extra`."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TOX_") and key not in drop
    }
    return {**environment, **extra}


def run(
    command: Sequence[str | Path],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env if env is not None else clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode:
        raise StepFailed(
            f"{shlex.join(map(str, command))} exited {completed.returncode} in {cwd}\n"
            f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}"
        )
    return completed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A process we started in a session of its own, answering on a loopback URL.

    Stopping signals the whole process group: a start command run through `sh -c` has the
    server as a child of the shell, and Uvicorn with several workers has children of its own.
    """

    process: subprocess.Popen[bytes]
    url: str

    def wait_until_up(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise StepFailed(f"{self.url}: the process exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers, if only to refuse
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise StepFailed(f"{self.url}{path} did not answer within {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the group, then wait until none of it is left; SIGKILL what outlives that."""
        for signal_number in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, signal_number)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self.process.poll()  # reap the leader, or the group never looks empty
                try:
                    os.killpg(self.process.pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


def start_index(root: Path, password: str | None) -> Server:
    """pypiserver on a free loopback port; with a password, uploads and downloads need it."""
    packages = root / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port)]
    command += ["--disable-fallback"]
    if password is None:
        command += ["-a", ".", "-P", "."]
    else:
        from passlib.apache import HtpasswdFile

        htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True)
        htpasswd.set_password(INDEX_USER, password)
        htpasswd.save()
        command += ["-a", "update,download,list", "-P", str(root / "htpasswd")]
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [*command, str(packages)], stdout=log, stderr=log, start_new_session=True
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    server.wait_until_up("/")
    return server


def bake(output: Path, **answers: str) -> Path:
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", output, TEMPLATE]
    run([*command, *(f"{key}={value}" for key, value in answers.items())], cwd=output)
    (project,) = [path for path in output.iterdir() if path.is_dir()]
    return project


def tox(directory: Path, envs: str, **environment: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tox", "-e", envs]
    return run(command, cwd=directory, env=clean_environment(**environment))


def publish(project: Path, index: Server, password: str) -> subprocess.CompletedProcess[str]:
    """The model package's own `tox -e publish_model`, aimed at the local index."""
    return tox(
        project / "model-package",
        "publish_model",
        TWINE_REPOSITORY_URL=index.url + "/",
        TWINE_USERNAME=INDEX_USER,
        TWINE_PASSWORD=password,
    )


def gate(project: Path, index_url: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """The model package's own `tox -e gate` against the index (GATE_OVERRIDE_REASON unset)."""
    environment = {"GATE_OVERRIDE_REASON": "", **environment}
    return tox(project / "model-package", "gate", MODEL_INDEX_URL=index_url, **environment)


def wheel_digest(output: str) -> str:
    """The sha256 the build or the upload printed for the wheel (scripts/publish.py)."""
    (digest,) = re.findall(r"^sha256 ([0-9a-f]{64})  \S+\.whl$", output, re.MULTILINE)
    return digest


def index_url_with_credentials(index: Server, password: str) -> str:
    return index.url.replace("http://", f"http://{INDEX_USER}:{password}@") + "/simple/"


def install_api(
    project: Path, venv: Path, model_index_url: str | None, **environment: str
) -> subprocess.CompletedProcess[str]:
    """As the PaaS builds it: pip installs requirements.txt, then railway.json's build command."""
    api = project / "api"
    if not venv.exists():
        run([sys.executable, "-m", "uv", "venv", "--quiet", "--seed", venv], cwd=api)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--no-input", "--quiet", "-r", "requirements.txt"]
    run(pip, cwd=api)
    build_command = railway_config(project)["build"]["buildCommand"]
    env = clean_environment(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", **environment)
    env.pop("MODEL_WHEEL", None)
    env.pop("MODEL_INDEX_URL", None)
    if model_index_url is not None:
        env["MODEL_INDEX_URL"] = model_index_url
    return run(["sh", "-c", build_command], cwd=api, env=env)


def railway_config(project: Path) -> dict[str, dict[str, str]]:
    config: dict[str, dict[str, str]] = json.loads((project / "api" / "railway.json").read_text())
    return config


def start_api(
    project: Path, venv: Path, log: Path, port: int | None = None, **environment: str
) -> Server:
    """The start command and health path of railway.json, with $PORT set (a free one unless
    given) and `environment` added."""
    config = railway_config(project)
    port = port or free_port()
    path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    env = clean_environment(PATH=path, PORT=str(port), **environment)
    output = log.open("wb")
    process = subprocess.Popen(
        ["sh", "-c", config["deploy"]["startCommand"]],
        cwd=project / "api",
        env=env,
        stdout=output,
        stderr=output,
        start_new_session=True,
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    server.wait_until_up(config["deploy"]["healthcheckPath"], timeout=120)
    return server


def smoke_check(project: Path, venv: Path, api: Server) -> dict[str, object]:
    """The project's own post-deploy smoke check: /ready, then one real prediction."""
    script = project / "api" / "scripts" / "smoke_check.py"
    completed = run([venv / "bin" / "python", script, api.url], cwd=project / "api")
    result: dict[str, object] = json.loads(completed.stdout)
    return result


def call(url: str, body: object = None) -> Any:
    """GET, or POST `body` as JSON; the JSON answer. An error status fails the step."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise StepFailed(f"{url} answered {error.code}: {error.read().decode()}") from None
    except OSError as error:  # refused, reset, timed out
        raise StepFailed(f"{url} did not answer: {error}") from None


def shifted_traffic(project: Path, api: Server) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """What an ops colleague watches: predictions unlike the training data, then their outcomes.

    The shifted batch is the holdout rows that share the most common value of the model's first
    categorical input (third-class passengers, in the default bake); each prediction then gets
    its real label through POST /api/v1/feedback. Returns what was sent, and the service's
    live quality and drift answers.
    """
    model = call(f"{api.url}/api/v1/model")
    categorical = [
        name for name in model["features"]["categorical"] if name in model["input_fields"]
    ]
    if not categorical:
        raise StepFailed("the model has no categorical input field to shift the traffic by")
    field = categorical[0]
    holdout_file = project / "model-package" / "data" / "prepared" / "holdout.jsonl"
    holdout = [json.loads(line) for line in holdout_file.read_text().splitlines()]
    value, _ = Counter(row["record"][field] for row in holdout).most_common(1)[0]
    shifted = [row for row in holdout if row["record"][field] == value]
    answer = call(f"{api.url}/api/v1/predict", {"records": [row["record"] for row in shifted]})
    for prediction, row in zip(answer["predictions"], shifted, strict=True):
        call(
            f"{api.url}/api/v1/feedback",
            {"prediction_id": prediction["prediction_id"], "label": row["target"]},
        )
    sent = f"{len(shifted)} of {len(holdout)} holdout rows, those with {field} = {value!r}"
    quality = call(f"{api.url}/api/v1/monitoring/quality")
    drift = call(f"{api.url}/api/v1/monitoring/drift")
    return sent, quality, drift


def number(value: float | None) -> str:
    """A figure of the answers, which may be missing (ROC AUC with outcomes of one class only)."""
    return "n/a" if value is None else f"{value:.3f}"


def summary(quality: dict[str, Any], drift: dict[str, Any]) -> list[str]:
    """The two answers in a few lines, as the monitoring page shows them."""
    lines = []
    for version in quality["versions"]:
        accuracy = version["accuracy"]
        live = (
            "no outcomes"
            if accuracy is None
            else (
                f"accuracy {accuracy['value']:.3f} ({accuracy['low']:.3f}-{accuracy['high']:.3f}),"
                f" log loss {number(version['log_loss'])}, ROC AUC {number(version['roc_auc'])}"
            )
        )
        holdout = version["holdout"] or {}
        lines.append(
            f"quality of {version['model_version']}: {version['with_outcome']} outcomes of "
            f"{version['predictions']} predictions, {live}; holdout accuracy "
            f"{number(holdout.get('accuracy'))}: {version['verdict']}"
        )
    if report := drift["report"]:
        worst = sorted(report["features"], key=lambda feature: -feature["psi"])
        shown = [*worst[:4], report["predictions"]]
        lines.append(
            f"drift on {report['rows']} rows (PSI): "
            + ", ".join(f"{item['feature']} {item['psi']:.2f} {item['status']}" for item in shown)
        )
    return lines


@contextmanager
def step(name: str, timings: list[tuple[str, float]]) -> Iterator[None]:
    """Print what runs and how long it took; a failure stops the demo with the step's output."""
    print(f"==> {name} ...", flush=True)
    started = time.perf_counter()
    try:
        yield
    except StepFailed as error:
        print(f"FAILED: {name}\n{error}", file=sys.stderr)
        sys.exit(1)
    elapsed = time.perf_counter() - started
    timings.append((name, elapsed))
    print(f"    done in {elapsed:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, help="bake here (default: a temporary folder)")
    parser.add_argument(
        "--keep-serving", action="store_true", help="leave the API running and print its URL"
    )
    arguments = parser.parse_args()
    output = arguments.output or Path(tempfile.mkdtemp(prefix="mlops-template-demo-"))
    output.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)
    timings: list[tuple[str, float]] = []
    venv = output / "api-venv"
    api = None

    with step("bake a project with the default answers", timings):
        project = bake(output)
    model = project / "model-package"
    with step("start a private index (pypiserver, htpasswd) on loopback", timings):
        index = start_index(output / "index", password)
    try:
        with step("model package: train and test (tox -e test_package)", timings):
            tox(model, "test_package")
        with step("gate it against the published model (tox -e gate)", timings):
            gated = gate(project, index_url_with_credentials(index, password)).stdout
            for line in gated.splitlines():
                if line.startswith("Gate"):
                    print(f"    {line}")
        with step("model package: build the wheel around that model (tox -e build)", timings):
            tested = wheel_digest(tox(model, "build").stdout)
        with step("publish the very wheel that was tested (tox -e publish_model)", timings):
            uploaded = wheel_digest(publish(project, index, password).stdout)
            if uploaded != tested:
                raise StepFailed(f"uploaded wheel sha256 {uploaded}, tested {tested}")
        with step("install the API from the private index, as the PaaS does", timings):
            install_api(project, venv, index_url_with_credentials(index, password))
        with step("serve the API with the start command of railway.json", timings):
            api = start_api(project, venv, output / "api.log")
        with step("send a real prediction (scripts/smoke_check.py)", timings):
            prediction = smoke_check(project, venv, api)
        with step("send a shifted batch and its outcomes; read quality and drift", timings):
            sent, quality, drift = shifted_traffic(project, api)
            print(f"    sent {sent}")
            for line in summary(quality, drift):
                print(f"    {line}")
    finally:
        index.stop()
        if api is not None and not arguments.keep_serving:
            api.stop()

    print("\nStep timings:")
    for name, elapsed in timings:
        print(f"  {elapsed:6.1f} s  {name}")
    print(f"  {sum(elapsed for _, elapsed in timings):6.1f} s  total")
    print(f"\nWheel sha256, tested and uploaded: {tested}")
    print(f"Prediction: {json.dumps(prediction)}")
    for name, answer in (("quality", quality), ("drift", drift)):
        saved = output / f"monitoring-{name}.json"
        saved.write_text(json.dumps(answer, indent=2))
        print(f"GET /api/v1/monitoring/{name}: {saved}")
    print(f"Project: {project}")
    if arguments.keep_serving and api is not None:
        print(f"The API is still running at {api.url}/; stop it with: kill -- -{api.process.pid}")


if __name__ == "__main__":
    main()
