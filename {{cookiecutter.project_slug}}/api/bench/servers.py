"""The service, or any ASGI app, as a separate Uvicorn process on a free loopback port: started the
way it is deployed, waited for, and stopped by its PID. The benchmark and the API's tests start
every server they talk to with `uvicorn()`, so both measure and test what production runs.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import {{ cookiecutter.package_name }} as model_package

API_ROOT = Path(__file__).resolve().parents[1]
SERVICE = "app.serve"  # the start command, as deployed: `python -m app.serve`
START_SECONDS = 60


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(port: int, path: str, timeout: float = 2) -> int | None:
    """The status a GET of `path` gets, or None while nothing answers on the port."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", path)
            return connection.getresponse().status
        finally:
            connection.close()
    except OSError:
        return None


def start_command(app: str, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """The command and settings that serve `app` on `port`: the service's own start command, which
    reads HOST, PORT and WEB_CONCURRENCY, or uvicorn's CLI for another app ("module:attribute")."""
    if app == SERVICE:
        settings = {"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
        return [sys.executable, "-m", SERVICE], settings
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    return [*command, "--workers", str(workers), "--no-access-log"], {}


@contextmanager
def uvicorn(
    app: str = SERVICE,
    workers: int = 1,
    log: Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """`app` served on a free loopback port, once it answers: the service's liveness probe
    (/health, as a platform checks it), another app's /openapi.json. `environment` is
    added last to ours and to the start command's settings. The output goes to `log`, or nowhere.
    The process leads a process group of its own, for a test that signals the whole of it."""
    port = free_port()
    command, settings = start_command(app, port, workers)
    output = log.open("wb") if log else None
    process = subprocess.Popen(
        command,
        cwd=API_ROOT,
        env={**os.environ, **settings, **(environment or {})},
        stdout=output or subprocess.DEVNULL,
        stderr=output or subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        probe = "/health" if app == SERVICE else "/openapi.json"
        while answers(port, probe) != 200:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with {process.returncode} before answering")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not answer within {START_SECONDS} s: {command}")
            time.sleep(0.1)
        yield Server(port, process)
    finally:
        stop(process)
        if output:
            output.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a platform stops a replica; SIGKILL to its whole process group (the workers
    too) if it has not ended 15 s later."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def challenger_environment(root: Path, version: str) -> Path:
    """A stand-in for a challenger's environment, for the benchmark and the tests: an interpreter
    (a script over this one) whose model package is a copy of the installed one under `version`.
    The same model, so the same answers; two really different versions come from an index."""
    installed = Path(model_package.__file__).parent
    copy = root / "site" / installed.name
    shutil.copytree(installed, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "VERSION").write_text(version, encoding="utf-8")
    for artifact in (copy / "trained_models").iterdir():
        old = f"_v{model_package.__version__}"
        renamed = artifact.with_name(artifact.name.replace(old, f"_v{version}"))
        artifact.rename(renamed)
        if renamed.suffix == ".json":
            metadata = json.loads(renamed.read_text(encoding="utf-8"))
            renamed.write_text(json.dumps({**metadata, "version": version}), encoding="utf-8")
    python = root / "bin" / "python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{root / "site"}" exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return python
