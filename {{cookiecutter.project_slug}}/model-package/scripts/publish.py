"""Upload dist/ to the private index with twine, exactly as `tox -e build` made it (never building).

    python scripts/publish.py            # tox -e publish_model: check, print sha256, upload dist/*
    python scripts/publish.py --digests  # tox -e build: the sha256 of what it built

It refuses when dist/ is empty or holds another version than VERSION: what is uploaded is the
build that was tested, and its sha256 is printed both after the build and before the upload. A
version the index already has is left as it is, with a note, and the command succeeds: CI
publishes on every push, and only a new VERSION uploads anything.
twine reads TWINE_REPOSITORY_URL, TWINE_USERNAME and TWINE_PASSWORD from the environment; this
script never prints or stores them.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = {
    "TWINE_REPOSITORY_URL": "the upload URL of the private index",
    "TWINE_USERNAME": "the index user (for a token-only index, the token)",
    "TWINE_PASSWORD": "the password or token",
}


def check_credentials() -> None:
    missing = [name for name in CREDENTIALS if not os.environ.get(name, "").strip()]
    if missing:
        wanted = "; ".join(f"{name}: {CREDENTIALS[name]}" for name in missing)
        sys.exit(f"publish: set {', '.join(missing)} before publishing ({wanted})")


def redact(text: str) -> str:
    """twine's verbose output names the user, which for token-only indexes is the secret."""
    for name in ("TWINE_USERNAME", "TWINE_PASSWORD"):
        if value := os.environ.get(name, "").strip():
            text = text.replace(value, "****")
    return text


def built_version(distribution: Path) -> str:
    """name-1.2.0-py3-none-any.whl or name-1.2.0.tar.gz -> 1.2.0"""
    if distribution.name.endswith(".whl"):
        return distribution.name.split("-")[1]
    return distribution.name.removesuffix(".tar.gz").rsplit("-", 1)[-1]


def built() -> list[Path]:
    return sorted((ROOT / "dist").glob("*"))


def print_digests(distributions: list[Path]) -> None:
    for distribution in distributions:
        digest = hashlib.sha256(distribution.read_bytes()).hexdigest()
        print(f"sha256 {digest}  {distribution.name}")


def upload() -> None:
    version_file = next(ROOT.glob("*/VERSION"))
    version = version_file.read_text().strip()
    distributions = built()
    if not distributions:
        sys.exit("publish: dist/ is empty: build the tested model first (tox -e build)")
    if other := sorted({built_version(path) for path in distributions} - {version}):
        sys.exit(
            f"publish: dist/ holds version {', '.join(other)}, but "
            f"{version_file.relative_to(ROOT)} says {version}: build it again (tox -e build)"
        )
    print_digests(distributions)
    # --verbose: the index's reason for a refusal is only in the response body.
    command = [sys.executable, "-m", "twine", "upload", "--non-interactive", "--verbose"]
    completed = subprocess.run(
        [*command, "--disable-progress-bar", *map(str, distributions)],
        capture_output=True,
        text=True,
        check=False,
    )
    output = redact(completed.stdout + completed.stderr)
    if completed.returncode == 0:
        names = ", ".join(distribution.name for distribution in distributions)
        print(f"publish: uploaded version {version}: {names}")
        return
    flat = " ".join(output.lower().split())
    if "409 conflict" in flat or "already exist" in flat:
        # Publishing runs on every push to the default branch: only a new version is uploaded.
        print(
            f"publish: version {version} is already on the index and is left as it is (a version "
            f"is never replaced; tox -e gate checks it is this model). To release a changed "
            f"model, bump {version_file.relative_to(ROOT)}"
        )
        return
    print(output, file=sys.stderr)
    sys.exit(f"publish: twine upload failed with exit status {completed.returncode}")


if __name__ == "__main__":
    if "--digests" in sys.argv[1:]:
        print_digests(built())
    else:
        check_credentials()
        upload()
