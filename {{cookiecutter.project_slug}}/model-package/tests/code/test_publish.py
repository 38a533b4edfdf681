"""scripts/publish.py uploads dist/ as the build made it, and refuses anything else."""

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "publish.py"


@pytest.fixture
def publish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script, aimed at a package folder of its own: VERSION says 0.2.0, dist/ is empty."""
    spec = importlib.util.spec_from_file_location("publish", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "VERSION").write_text("0.2.0\n")
    (tmp_path / "dist").mkdir()
    return module


def test_an_empty_dist_is_refused(publish: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"dist/ is empty: build the tested model first"):
        publish.upload()


def test_a_build_of_another_version_is_refused(publish: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "dist" / "my_model-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    (tmp_path / "dist" / "my_model-0.1.0.tar.gz").write_bytes(b"sdist")
    with pytest.raises(SystemExit, match=r"holds version 0.1.0, but model/VERSION says 0.2.0"):
        publish.upload()


def test_digests_are_the_files_sha256(
    publish: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dist" / "my_model-0.2.0-py3-none-any.whl").write_bytes(b"wheel")
    publish.print_digests(publish.built())
    expected = hashlib.sha256(b"wheel").hexdigest()
    assert capsys.readouterr().out == f"sha256 {expected}  my_model-0.2.0-py3-none-any.whl\n"
