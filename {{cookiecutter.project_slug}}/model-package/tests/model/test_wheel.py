"""Round trip through the built wheel: a fresh environment with only the wheel can predict.

Only the runtime dependencies are installed there (no scikit-learn, no pandas): serving is ONNX.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import CLASSES, TASK, __version__
from {{ cookiecutter.package_name }}.persistence import SUFFIXES, artifact_stem

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PREDICT = """
import json
import {{ cookiecutter.package_name }} as package
result = package.make_prediction([package.EXAMPLE_RECORD])
import importlib.util
sklearn = importlib.util.find_spec("sklearn")
print(json.dumps({"file": package.__file__, "result": result.model_dump(), "sklearn": sklearn}))
"""


def run(*command: str | Path, cwd: Path) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode:
        pytest.fail(f"{command} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout


@pytest.mark.slow
def test_wheel_predicts_in_a_clean_environment(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = (sys.executable, "-m", "build", "--wheel", "--installer", "uv", "--outdir", dist)
    run(*build, PROJECT_ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("*.whl")
    assert f"-{__version__}-" in wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    package = "{{ cookiecutter.package_name }}"
    stem = f"trained_models/{artifact_stem()}"
    shipped = ["VERSION", "config.yml", *(stem + suffix for suffix in SUFFIXES)]
    for name in shipped:
        assert f"{package}/{name}" in names
    assert not [name for name in names if "datasets/" in name or name.endswith(".csv")]

    venv = tmp_path / "venv"
    uv = (sys.executable, "-m", "uv")
    run(*uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(*uv, "pip", "install", "--quiet", "--python", python, wheel, cwd=tmp_path)

    output = json.loads(run(python, "-c", PREDICT, cwd=tmp_path))
    assert Path(output["file"]).is_relative_to(venv)
    assert output["result"]["errors"] == []
    assert output["result"]["model_version"] == __version__
    if TASK == "classification":
        assert output["result"]["labels"][0] in CLASSES
    else:
        low, high = output["result"]["intervals"][0]
        assert low < output["result"]["values"][0] < high
    assert output["sklearn"] is None
