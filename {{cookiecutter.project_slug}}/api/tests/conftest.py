import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import EXAMPLE_RECORD, InputRecord

from app.config import Settings
from app.main import create_app

API_ROOT = Path(__file__).resolve().parents[1]
ClientFactory = Callable[..., TestClient]
Record = dict[str, Any]
# The input record's JSON schema: tests derive their bad values from it, whatever the model.
FIELDS: dict[str, dict[str, Any]] = InputRecord.model_json_schema()["properties"]
REQUIRED: list[str] = InputRecord.model_json_schema().get("required", [])


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def uvicorn(log: Path | None = None, **environment: str) -> Iterator[str]:
    """The service as deployed (`python -m app.serve`) on a free loopback port, with `environment`
    added to ours; its output goes to `log` if given. Stopped by its PID afterwards."""
    port = free_port()
    output = log.open("wb") if log else None
    process = subprocess.Popen(
        [sys.executable, "-m", "app.serve"],
        cwd=API_ROOT,
        env={
            **os.environ,
            "LOG_LEVEL": "WARNING",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            **environment,
        },
        stdout=output,
        stderr=output,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited with {process.returncode} before answering")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("uvicorn did not answer /health within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if output:
            output.close()


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    with uvicorn() as url:
        yield url
